package core

import (
	"context"

	"github.com/rosterhq/roster/internal/roster"
)

// SetHookAfterSysadminGuard makes the service call fn after the last-administrator check
// has counted the administrators and before the change is written (tests only).
func SetHookAfterSysadminGuard(s *Service, fn func()) { s.hooks.afterSysadminGuard = fn }

// SetHookBeforeQueue makes the service call fn as it queues a message, in the
// transaction of its change; an error fails the queueing (tests only).
func SetHookBeforeQueue(s *Service, fn func(m *roster.Message) error) { s.hooks.beforeQueue = fn }

// ReadableWhere exposes readableWhere to tests, with the caller's audiences.
func ReadableWhere(ctx context.Context, s *Service, actor roster.Actor, attr *roster.Attribute) roster.Cond {
	p, err := s.policy(ctx)
	if err != nil {
		panic(err)
	}
	scope, err := s.scopeOf(ctx, actor)
	if err != nil {
		panic(err)
	}
	return s.readableWhere(p, actor, attr, scope)
}
