package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/principal"
)

// demoPassword is every demo staff user's password: the demo is a local playground, and
// a newcomer signs in with what it printed.
const demoPassword = "steward-demo-2026"

// demoSignIn is one console sign-in the demo made.
type demoSignIn struct {
	Role  principal.Role
	Email string
}

// demoSignIns makes a console user per role of demoStaff as `steward users create` does
// (auth.Staff.CreateUser), and sets demoPassword with the set-up secret that returns,
// as the set-up page would.
func demoSignIns(ctx context.Context, staff *auth.Staff) ([]demoSignIn, error) {
	var out []demoSignIn
	for _, s := range demoStaff {
		email := s.Name + "@demo.example"
		setup, _, err := staff.CreateUser(ctx, email, s.Role)
		if err != nil {
			return nil, fmt.Errorf("demo: console user %s: %w", email, err)
		}
		if _, err := staff.SetPassword(ctx, setup, demoPassword); err != nil {
			return nil, fmt.Errorf("demo: console user %s: %w", email, err)
		}
		out = append(out, demoSignIn{Role: s.Role, Email: email})
	}
	return out, nil
}

// demoPortalLink asks for a portal link for the banned account as the platform does
// (POST /v1/accounts/{id}/portal-links with the service's key) and returns its URL.
func demoPortalLink(ctx context.Context, sc *demoScenario) (string, error) {
	d := &demoLoader{ctx: ctx, url: sc.URL, keys: sc.Keys, sc: sc}
	var link struct {
		URL string `json:"url"`
	}
	if err := d.as(principal.Service, "POST", "/v1/accounts/"+sc.Banned+"/portal-links", nil, &link); err != nil {
		return "", err
	}
	return strings.TrimSuffix(sc.URL, "/") + link.URL, nil
}

// printConsole prints the console's sign-ins and the banned user's portal link.
func printConsole(w io.Writer, url string, ins []demoSignIn, portal string) {
	fmt.Fprintf(w, "\nThe console, one sign-in per role (password %s):\n", demoPassword)
	for _, in := range ins {
		fmt.Fprintf(w, "  console: %s/console/sign-in  %s / %s   # %s\n", url, in.Email, demoPassword, in.Role)
	}
	fmt.Fprintf(w, "The banned user's portal (the link works once, within 15 minutes; ask for another with POST /v1/accounts/{id}/portal-links):\n  portal: %s\n", portal)
}
