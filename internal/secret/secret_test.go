package secret_test

import (
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/secret"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := secret.HashPassword("correct horse", secret.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if ok, err := secret.CheckPassword(h, "correct horse"); err != nil || !ok {
		t.Fatalf("right password: ok=%v err=%v", ok, err)
	}
	if ok, _ := secret.CheckPassword(h, "correct horsE"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := secret.HashPassword("correct horse", secret.TestParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestCheckPasswordMalformed(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x$AAAA$AAAA", "$argon2id$v=19$m=1,t=1,p=1$!!$AAAA"} {
		if _, err := secret.CheckPassword(h, "x"); err == nil {
			t.Errorf("CheckPassword(%q) accepted a malformed hash", h)
		}
	}
}

func TestKeys(t *testing.T) {
	k1, _ := secret.NewKey()
	k2, _ := secret.NewKey()
	if k1 == k2 || !strings.HasPrefix(k1, secret.KeyPrefix) || len(k1) != len(secret.KeyPrefix)+64 {
		t.Fatalf("keys %q %q", k1, k2)
	}
	if string(secret.HashToken(k1)) == string(secret.HashToken(k2)) || len(secret.HashToken(k1)) != 32 {
		t.Fatal("token hashes collide or have the wrong size")
	}
	if secret.CSRFToken("a") == secret.CSRFToken("b") || secret.CSRFToken("a") != secret.CSRFToken("a") {
		t.Fatal("CSRF tokens are not a function of the session token")
	}
}
