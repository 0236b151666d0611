package roster

import "context"

// Interface names the surface a request came through; it is recorded in the audit log.
const (
	ViaCLI       = "cli"
	ViaAPI       = "v1"
	ViaConsole   = "console"
	ViaSystem    = "system"
	ViaCKAN      = "ckan"
	ViaOpenEdX   = "openedx"
	ViaPYBOSSA   = "pybossa"
	ViaBrainSTEM = "brainstem"
	ViaREDCap    = "redcap"
	// ViaLink is a link Roster mailed, followed (an email confirmation): the key in it is
	// the only credential.
	ViaLink = "link"
)

// Actor is who performs an operation. The zero Actor is anonymous.
type Actor struct {
	AccountID    int64
	Username     string
	Sysadmin     bool
	Staff        bool
	Capabilities []string
	KeyID        int64  // the API key that authenticated the request, if any
	ReadOnly     bool   // the key's scope forbids changes
	SessionID    int64  // the session that authenticated the request, if any
	GrantID      int64  // the OAuth2 token family whose token authenticated it, if any
	Via          string // interface: ViaCLI, ViaAPI, …
	RequestID    string
	ClientIP     string
	// Project is set when a project API token authenticated the request: the actor is
	// that project's member and may act in that project only, with the member's rights.
	Project *ProjectGrant
	// Trusted marks the operator at the command line: it may do anything a sysadmin may,
	// without an account.
	Trusted bool
	// PolicyVersion is the version of the stored policy read with the actor's credential
	// (0: not read), so that the core need not ask for it again.
	PolicyVersion int64
}

// Anonymous reports whether no account stands behind the actor.
func (a Actor) Anonymous() bool { return a.AccountID == 0 && !a.Trusted }

// IsSysadmin reports whether the actor may do everything.
func (a Actor) IsSysadmin() bool { return a.Trusted || a.Sysadmin }

// IsStaff reports whether the actor may read every account in full.
func (a Actor) IsStaff() bool { return a.IsSysadmin() || a.Staff }

// Is reports whether the actor is the given account.
func (a Actor) Is(accountID int64) bool { return accountID != 0 && a.AccountID == accountID }

// Can reports whether the actor holds a named capability (sysadmins hold them all).
func (a Actor) Can(capability string) bool {
	if a.IsSysadmin() {
		return true
	}
	for _, c := range a.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

// AdministersProjects reports whether the actor administers every project. A project
// API token acts as its member, in its project only, whatever the account may do
// elsewhere.
func (a Actor) AdministersProjects() bool { return a.Project == nil && a.Can("project_admin") }

// CallerName is how answers about access name the actor.
func (a Actor) CallerName() string {
	switch {
	case a.Trusted:
		return "(operator)"
	case a.Anonymous():
		return "anonymous"
	}
	return a.Username
}

type actorKey struct{}

// NewContextWithActor returns ctx carrying the actor.
func NewContextWithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFromContext returns the actor in ctx, or the anonymous actor.
func ActorFromContext(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}
