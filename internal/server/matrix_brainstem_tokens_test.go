package server_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

// The matrix's rows of BrainSTEM's tokens (issue 15). The token endpoints read no
// credential of the caller's: every caller sends its key, and every cell is alike.
// The approval page takes sessions alone: keys leave the caller anonymous, sent to
// sign in.

// brainstemTokens is a row of BrainSTEM's token endpoints.
func brainstemTokens(method, route, path, body, cells string) row {
	return row{surface: roster.ViaBrainSTEM, route: route, method: method, path: path, body: body, cells: cells}
}

// devicePage is a row of the device approval page, which belongs to no surface.
func devicePage(method, path, cells string) row {
	return row{route: method + " /device", method: method, path: path, cells: cells}
}

// pendingDevice starts a device flow and names its user code: {usercode}. Its device
// code is among the secrets no body may hold.
func pendingDevice(t *testing.T, f *fixture, c *cell) map[string]string {
	d := must(f.e.OAuth.StartDevice(op(), "matrix", client))
	f.secrets = append(f.secrets, d.DeviceCode)
	return map[string]string{"usercode": d.UserCode, "device": d.DeviceCode}
}

// approvedDevice is pendingDevice approved by alice in her browser: {device} is the
// code whose poll receives the token.
func approvedDevice(t *testing.T, f *fixture, c *cell) map[string]string {
	d := must(f.e.OAuth.StartDevice(op(), "matrix", client))
	s := must(f.e.Svc.Login(context.Background(), roster.Credentials{Login: "alice", Password: f.people["alice"].password}, client))
	f.secrets = append(f.secrets, s.Token)
	actor := must(f.e.Svc.AuthenticateSession(context.Background(), s.Token, client))
	must(f.e.OAuth.ApproveDevice(roster.NewContextWithActor(context.Background(), actor), d.UserCode, client))
	return map[string]string{"device": d.DeviceCode}
}
