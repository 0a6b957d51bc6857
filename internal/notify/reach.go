package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// Reach says which addresses webhook deliveries may go to. The zero value keeps them off
// this host and its networks: no loopback, link-local (the cloud metadata address
// 169.254.169.254 among them), private or unspecified address, so that whoever may set a
// webhook cannot make Steward post to a service only it can reach. A host name is
// checked when the webhook is put, and the address each delivery dials is checked again,
// so a name that later resolves elsewhere (DNS rebinding) is refused too.
type Reach struct {
	// AllowPrivate lets webhooks reach every address (steward serve
	// --webhook-allow-private): receivers on this host or its private network.
	AllowPrivate bool

	lookup func(ctx context.Context, host string) ([]netip.Addr, error) // net.DefaultResolver's when nil
}

// lookupTimeout bounds the resolution of a webhook's host name when it is put.
const lookupTimeout = 5 * time.Second

const allowHint = "; steward serve --webhook-allow-private allows it"

// refused says why addr may not be reached, or "" when it may.
func (r Reach) refused(addr netip.Addr) string {
	if r.AllowPrivate {
		return ""
	}
	addr = addr.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	switch {
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return "a link-local address (the cloud metadata address 169.254.169.254 is one)"
	case addr.IsPrivate():
		return "a private address"
	case addr.IsUnspecified() || thisNetwork.Contains(addr):
		return "an unspecified address"
	}
	return ""
}

// thisNetwork is 0.0.0.0/8: Linux connects a dial to any of it to this host.
var thisNetwork = netip.MustParsePrefix("0.0.0.0/8")

// checkHost says why deliveries may not go to the host of rawURL (a URL checkURL
// accepts), or "" when they may. A name that does not resolve now is let through: each
// delivery checks the address it dials.
func (r Reach) checkHost(ctx context.Context, rawURL string) string {
	if r.AllowPrivate {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "" // checkURL says why
	}
	host := u.Hostname()
	if addr, err := netip.ParseAddr(host); err == nil {
		if why := r.refused(addr); why != "" {
			return fmt.Sprintf("must not reach %s, which is %s%s", host, why, allowHint)
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	lookup := r.lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return ""
	}
	for _, addr := range addrs {
		if why := r.refused(addr); why != "" {
			return fmt.Sprintf("must not reach %s, which resolves to %s, %s%s", host, addr.Unmap(), why, allowHint)
		}
	}
	return ""
}

// errRefused is the cause of a delivery dial that Reach refuses.
var errRefused = errors.New("webhook address refused")

// transport returns the HTTP transport of deliveries: the default one, but dialling only
// addresses r allows, checked after resolution, and never through a proxy from the
// environment (the policy is about where Steward connects).
func (r Reach) transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s is not an IP address", errRefused, address)
			}
			if why := r.refused(ap.Addr()); why != "" {
				return fmt.Errorf("%w: %s is %s%s", errRefused, ap.Addr().Unmap(), why, allowHint)
			}
			return nil
		}}
	t.DialContext = d.DialContext
	return t
}

// CheckURL says what is wrong with rawURL as an address Steward may post to under r
// (the webhook URL policy, its host resolved now), or "" when it may: for other callers
// of outside services, such as takeout's export sources.
func (r Reach) CheckURL(ctx context.Context, rawURL string) string {
	if msg := checkURL(rawURL); msg != "" {
		return msg
	}
	return r.checkHost(ctx, rawURL)
}

// Client returns an HTTP client that connects only where r allows, follows no redirect
// and gives up after timeout.
func (r Reach) Client(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, CheckRedirect: noRedirects, Transport: r.transport()}
}
