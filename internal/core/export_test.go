package core

import "github.com/rosterhq/roster/internal/roster"

// SetHookAfterSysadminGuard makes the service call fn after the last-administrator check
// has counted the administrators and before the change is written (tests only).
func SetHookAfterSysadminGuard(s *Service, fn func()) { s.hooks.afterSysadminGuard = fn }

// ReadableWhere exposes readableWhere to tests.
func ReadableWhere(s *Service, actor roster.Actor, attr *roster.Attribute) roster.Cond {
	return s.readableWhere(actor, attr)
}
