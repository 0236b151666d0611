package core

// SetHookAfterSysadminGuard makes the service call fn after the last-administrator check
// has counted the administrators and before the change is written (tests only).
func SetHookAfterSysadminGuard(s *Service, fn func()) { s.hooks.afterSysadminGuard = fn }
