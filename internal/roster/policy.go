package roster

import "time"

// The policy Roster decides by lives in the store, so that every replica and every
// command sees the same, and each change is versioned and audited. These are its
// settings; each value is JSON.
const (
	// SettingSchema is the operator's schema extension: a document like the embedded
	// schema's, {"attributes": [...]}, adding attributes and overriding rules.
	SettingSchema = "schema"
	// SettingDefaultPrivacy is the privacy of accounts that have not chosen one:
	// "private", "all_users" or "custom".
	SettingDefaultPrivacy = "default_privacy"
	// SettingParentalConsentAge: accounts younger than this are private to others (0:
	// off).
	SettingParentalConsentAge = "parental_consent_age"
	// SettingSurfaces narrows what each surface (dialect) allows: a map of surface name
	// to SurfacePolicy.
	SettingSurfaces = "surfaces"
)

// Settings lists every setting, in the order they are shown.
var Settings = []string{SettingSchema, SettingDefaultPrivacy, SettingParentalConsentAge, SettingSurfaces}

// PolicySetting is one stored setting.
type PolicySetting struct {
	Name      string
	Value     string // JSON
	Version   int64  // the policy version that set it
	UpdatedAt time.Time
	UpdatedBy string
}

// StoredPolicy is every stored setting, as of one version.
type StoredPolicy struct {
	Version  int64
	Settings map[string]PolicySetting
}

// PolicyView is the policy in force, as its stored settings.
type PolicyView struct {
	Version  int64
	Settings []PolicySetting // in Settings order
}

// SurfacePolicy narrows what one surface (a dialect, or the native API) allows, beyond
// what the core allows everywhere. Roster declares each platform's own rules this way;
// an operator may narrow them further, never widen them.
type SurfacePolicy struct {
	// Require names, for an action of the surface, the least role that may take it:
	// "signed_in", "staff" or "sysadmin". Actions are the surface's own ("user_metadata")
	// and "filter:ATTRIBUTE" for filtering a list by an attribute.
	Require map[string]string `json:"require,omitempty"`
	// OwnAccountOnly: nobody changes another's account through this surface, not even a
	// system administrator (Open edX's accounts API).
	OwnAccountOnly bool `json:"own_account_only,omitempty"`
	// Ignore lists attributes that, sent by a caller who may not change them, are
	// dropped silently rather than refused (CKAN ignores a non-sysadmin's sysadmin key).
	// "maintained" stands for every attribute nobody may change.
	Ignore []string `json:"ignore,omitempty"`
	// Hide lists attributes this surface neither shows nor accepts.
	Hide []string `json:"hide,omitempty"`
	// Read raises attributes' read levels on this surface (Open edX shows an account's
	// id only to the account itself and to staff). A level here never lowers one.
	Read map[string]Level `json:"read,omitempty"`
	// ReadOnly: the surface changes nothing.
	ReadOnly bool `json:"read_only,omitempty"`
	// ConfirmEmail: a change of email through this surface waits for the new address to
	// be confirmed (Open edX). The change is recorded as pending and a link is mailed to
	// the new address; following it makes the change. An address another account holds
	// is dropped without a word, so that the answer does not tell whether it is
	// registered; the current address is refused (Reason RSameEmail).
	ConfirmEmail bool `json:"confirm_email,omitempty"`
	// HideDeleted: a deleted account is not found through this surface, by staff and
	// system administrators either (BrainSTEM answers 404 for a removed user to all).
	HideDeleted bool `json:"hide_deleted,omitempty"`
	// Lists are named lists of attributes (canonical names) a surface's platform defines,
	// such as CKAN's user_update clearing what it is not given, or EDX's "*" columns.
	Lists map[string][]string `json:"lists,omitempty"`
}

// Roles a surface may require, least first.
var SurfaceRoles = []string{"signed_in", "staff", "sysadmin"}

// ReadLevel is the level that reads attr on this surface: the attribute's own, or the
// surface's if that is higher.
func (sp SurfacePolicy) ReadLevel(attr *Attribute) Level {
	if l, ok := sp.Read[attr.Name]; ok && l > attr.Read {
		return l
	}
	return attr.Read
}
