package enforce

import "strings"

// Protected lists the capabilities no sanction ever denies: a sanctioned user may always
// appeal, export and delete their data, and withdraw what the ledger lets them.
var Protected = []string{"account.appeal", "account.export", "account.delete", "wallet.withdraw"}

// IsProtected reports whether no sanction may deny capability c.
func IsProtected(c string) bool {
	switch c {
	case "account.appeal", "account.export", "account.delete", "wallet.withdraw":
		return true
	}
	return false
}

// CapabilityRule describes the allowed form of a capability, for messages.
const CapabilityRule = `"service.action": each part 1 to 32 lowercase letters, digits, _ or -, starting with a letter`

// AllServices in a scope's services means every service.
const AllServices = "*"

// ValidService reports whether s is a service name: 1 to 32 of [a-z0-9_-], starting
// with a letter. Hand-written rather than a regexp: the check API calls it per decision.
func ValidService(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ValidCapability reports whether c has the form "service.action" (see CapabilityRule).
func ValidCapability(c string) bool {
	svc, action, ok := strings.Cut(c, ".")
	return ok && ValidService(svc) && ValidService(action)
}

// serviceOf returns the service part of a valid capability.
func serviceOf(c string) string {
	if i := strings.IndexByte(c, '.'); i >= 0 {
		return c[:i]
	}
	return c
}
