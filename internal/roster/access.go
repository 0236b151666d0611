package roster

// Access decisions: what a caller may read and change of an account, field by field,
// and the rule behind each answer. The core decides; surfaces ask and follow.

// Rule names the reason of a decision.
type Rule string

// Rules that grant.
const (
	RulePublic          Rule = "public"            // anyone, anonymous callers too
	RuleSignedIn        Rule = "signed_in"         // every signed-in caller
	RulePrivacyAllUsers Rule = "privacy_all_users" // the owner shares it with signed-in users
	RulePrivacyCustom   Rule = "privacy_custom"    // the owner shares this field by name
	RulePublicShared    Rule = "public_shared"     // the owner shows this field to everyone
	RuleSelf            Rule = "self"              // the caller is the account
	RuleStaff           Rule = "staff"             // staff read every account in full
	RuleSysadmin        Rule = "sysadmin"          // system administrators may do everything
	RuleAudience        Rule = "audience"          // a relationship grants it; the detail names which
	RuleProjectRight    Rule = "project_right"     // a project right grants it
)

// Rules that refuse.
const (
	RuleSecret          Rule = "secret"           // never shown to anyone
	RuleNobody          Rule = "nobody"           // read level none
	RuleAnonymous       Rule = "anonymous"        // for signed-in callers only
	RulePrivacy         Rule = "privacy"          // the owner's privacy hides it
	RuleParentalConsent Rule = "parental_consent" // the owner needs parental consent, so is private
	RuleSelfOnly        Rule = "self_only"        // the owner's (and staff's) only
	RuleStaffOnly       Rule = "staff_only"       // staff's and system administrators' only
	RuleSurface         Rule = "surface"          // the surface's policy forbids it
	RuleMaintained      Rule = "maintained"       // Roster keeps it; nobody changes it
	RuleReadOnlyKey     Rule = "read_only_key"    // the caller's API key is read-only
	RuleNotOwner        Rule = "not_owner"        // only the owner or a system administrator
	RuleSysadminOnly    Rule = "sysadmin_only"    // only system administrators change it
	RuleNotVisible      Rule = "not_visible"      // the account is deleted: staff only
	RuleNoProjectRight  Rule = "no_project_right" // the caller lacks the project right
)

// Decision is one answer and why.
type Decision struct {
	Allowed bool
	Rule    Rule
	Detail  string // English, for people
}

// FieldAccess is what a caller may do with one attribute of one account.
type FieldAccess struct {
	Field string
	Read  Decision
	Write Decision
}

// AccountAccess is what a caller may do with one account.
type AccountAccess struct {
	AccountID int64
	UUID      string
	Username  string
	Caller    string // a username, "anonymous" or "(operator)"
	Surface   string
	Visible   Decision // may know the account exists
	Edit      Decision // may change it at all
	Fields    []FieldAccess
}

// Field returns the access to one field, or nil.
func (a *AccountAccess) Field(name string) *FieldAccess {
	for i := range a.Fields {
		if a.Fields[i].Field == name {
			return &a.Fields[i]
		}
	}
	return nil
}

// RightAccess is a caller's value of one project right, and why.
type RightAccess struct {
	Right    string
	Value    int
	Decision Decision
}

// ProjectAccess is what a caller may do in one project.
type ProjectAccess struct {
	ProjectID int64
	Caller    string
	Member    bool          // the caller is a member
	Role      string        // the member's role's unique name, if any
	DAG       string        // the DAG the caller is confined to, if any
	Token     bool          // authenticated by a project API token: API rights gate it
	Rights    []RightAccess // every right, in REDCap's order
	SeesDAGs  string        // "all" or the DAG the caller sees
}
