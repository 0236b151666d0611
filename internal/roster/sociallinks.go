package roster

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// SocialPlatforms are the platforms the social_links format knows, with the start of
// a profile's address on each: a link is kept as https://www.<stub><username>, as Open
// edX keeps it, so that every surface shows the same link.
var SocialPlatforms = map[string]string{"facebook": "facebook.com/", "x": "x.com/", "linkedin": "linkedin.com/in/"}

// socialPlatformNames names the platforms in messages, as Open edX does.
var socialPlatformNames = map[string]string{"facebook": "Facebook", "x": "X", "linkedin": "LinkedIn"}

// MaxSocialLink bounds a stored link.
const MaxSocialLink = 100

// Reasons of the social_links format's problems, for dialects that word them.
const (
	// RSocialPlatform: a key that is no known platform (Subject: the key).
	RSocialPlatform = "social_platform"
	// RSocialUsername: a value that is neither a username nor a link with the
	// platform's address (Subject: the platform).
	RSocialUsername = "social_username"
)

var socialUsername = regexp.MustCompile(`^[^/\s?#]+$`)

// normalizeSocialLinks checks a platform → link object and writes each link in its one
// form. A link is a username, or an address holding the platform's stub (any case, with
// or without a trailing slash). "twitter" is the old name of x; given both, x's link is
// kept.
func (a *Attribute) normalizeSocialLinks(m map[string]any) (map[string]any, *Problem) {
	out := make(map[string]any, len(m))
	for platform, v := range m {
		key := platform
		if key == "twitter" {
			if _, both := m["x"]; both {
				continue // the current name wins, whatever order the map is read in
			}
			key = "x"
		}
		stub, ok := SocialPlatforms[key]
		if !ok {
			p := a.problem(PChoice, "The social platform must be facebook, x or linkedin", platform)
			p.Reason, p.Subject = RSocialPlatform, platform
			return nil, p
		}
		s, ok := v.(string)
		if !ok {
			return nil, a.problem(PType, fmt.Sprintf("The link for %s must be a string.", key), v)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		user := s
		if i := strings.Index(strings.ToLower(s), stub); i >= 0 {
			user = strings.TrimSuffix(s[i+len(stub):], "/")
		}
		if !socialUsername.MatchString(user) {
			p := a.problem(PFormat, fmt.Sprintf("Make sure that you are providing a valid username or a URL that contains %q. "+
				"To remove the link from your %s profile, leave this field blank.", stub, socialPlatformNames[key]), s)
			p.Reason, p.Subject = RSocialUsername, key
			return nil, p
		}
		link := "https://www." + stub + user
		if utf8.RuneCountInString(link) > MaxSocialLink {
			return nil, a.problemLimit(PTooLong, fmt.Sprintf("Ensure the link for %s has no more than %d characters.", key, MaxSocialLink), s, MaxSocialLink)
		}
		out[key] = link
	}
	return out, nil
}
