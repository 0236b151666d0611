package testkit

import (
	"os"
	"testing"
)

// RequireUnprivilegedEnv makes running as root a failure rather than a skip. CI sets it
// where it runs these tests as an unprivileged user (.ci/run).
const RequireUnprivilegedEnv = "ROSTER_REQUIRE_UNPRIVILEGED"

// Unprivileged skips a test that depends on file permissions when it runs as root:
// root reads and writes files whatever their modes, so there such a test proves
// nothing. With ROSTER_REQUIRE_UNPRIVILEGED=1, running as root fails the test instead.
func Unprivileged(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if os.Getenv(RequireUnprivilegedEnv) == "1" {
		tb.Fatalf("running as root with %s=1: this test depends on file permissions, which root ignores", RequireUnprivilegedEnv)
	}
	tb.Skipf("skipped as root, which ignores file permissions (.ci/run runs it as an unprivileged user; %s=1 makes this a failure)", RequireUnprivilegedEnv)
}
