// Package layout_test checks the conventions of STYLE.md that a compiler does not: every
// package says what it is for, domain packages know nothing of storage or HTTP, the
// adapters do not import each other, and domain packages import each other only along
// the edges DESIGN.md lists.
package layout_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/stewardhq/steward/"

// adapters are the packages that implement the domain's interfaces for the outside world.
var adapters = []string{"internal/sqlstore", "internal/httpapi", "internal/web", "client", "cmd/"}

func isAdapter(dir string) bool {
	for _, a := range adapters {
		if dir == strings.TrimSuffix(a, "/") || strings.HasPrefix(dir, a) || strings.HasPrefix(dir, a+"/") {
			return true
		}
	}
	return false
}

// packages returns every directory holding non-test Go files, relative to the module
// root, with the imports of those files and whether one has a package doc comment.
func packages(t *testing.T) map[string]struct {
	imports map[string]bool
	doc     bool
} {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]struct {
		imports map[string]bool
		doc     bool
	}{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		p := out[rel]
		if p.imports == nil {
			p.imports = map[string]bool{}
		}
		p.doc = p.doc || f.Doc != nil
		for _, imp := range f.Imports {
			v, _ := strconv.Unquote(imp.Path.Value)
			p.imports[v] = true
		}
		out[rel] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 5 {
		t.Fatalf("found only %d packages under %s; is the walk broken?", len(out), root)
	}
	return out
}

func TestEveryPackageSaysWhatItIsFor(t *testing.T) {
	for dir, p := range packages(t) {
		if !p.doc {
			t.Errorf("%s: no package doc comment", dir)
		}
	}
}

// shared are the packages every domain package may import: the audit log, transactions,
// the error type, and the leaves naming who acts and on what authority.
var shared = []string{"internal/audit", "internal/txn", "internal/errs", "internal/principal", "internal/authority"}

// edges lists every package that is neither an adapter nor cmd/ wiring, with the packages
// of this module it may import beyond shared (DESIGN.md, "Domain edges"). An import not
// listed fails TestDomainEdges naming the edge; add an edge here, and to DESIGN.md, only
// when the domain really depends on the other. A package not listed at all fails too.
// Domains to come are listed already, so that their rules hold the day they land.
var edges = map[string][]string{
	// The shared packages have lists of their own, shorter than anyone's, so that any
	// package may import them without a cycle: errs and txn import nothing of Steward,
	// the leaves only errs, audit only errs, txn and principal.
	"internal/errs":      {},
	"internal/txn":       {},
	"internal/principal": {"internal/errs"},
	"internal/authority": {"internal/errs"},
	"internal/audit":     {"internal/errs", "internal/txn", "internal/principal"},
	"internal/logbuf":    {}, // serve's log writer: no domain, no Steward import

	"internal/accounts":        {},
	"internal/auth":            {"internal/accounts"}, // a user token is made for an account that exists
	"internal/idempotency":     {},
	"internal/retention":       {"internal/txn"},
	"internal/enforce":         {"internal/accounts"},
	"internal/bulk":            {"internal/enforce", "internal/accounts"},
	"internal/bulk/population": {"internal/accounts"}, // test data: accounts to sweep
	"internal/review":          {},
	"internal/reports":         {"internal/review", "internal/accounts"},
	"internal/appeals":         {"internal/enforce", "internal/bulk", "internal/review", "internal/accounts"},
	"internal/ledger":          {"internal/accounts"},
	"internal/vault":           {"internal/accounts"},
	"internal/leak":            {"internal/vault", "internal/accounts"}, // incidents select their affected accounts
	// takeout reads every domain it exports; add one here when its data joins the archive.
	"internal/takeout": {"internal/accounts", "internal/enforce", "internal/reports", "internal/appeals", "internal/ledger", "internal/vault"},
	// notify implements the announcer interfaces of the domains it hears from.
	"internal/notify": {"internal/enforce", "internal/accounts", "internal/appeals", "internal/reports", "internal/ledger", "internal/leak"},

	// The wiring builds every service from the stores it is given: any domain package
	// (see wiring), never an adapter.
	"internal/app": {},

	// HTTP helpers shared by the adapters (see httpHelpers).
	"internal/problem": {},
	"internal/bearer":  {},
}

// wiring may import every package of edges except the HTTP helpers.
var wiring = map[string]bool{"internal/app": true}

// httpHelpers serve the HTTP adapters only: adapters may import them, nothing else may.
var httpHelpers = map[string]bool{"internal/problem": true, "internal/bearer": true}

// forbidden are imports that must never be, with the reason, checked before edges (like
// Tailscale's deptest BadDeps). "*" as the importer means every package of edges.
var forbidden = []struct{ from, to, why string }{
	{"internal/reports", "internal/enforce", "a report alone never imposes more than a review"},
	{"internal/ledger", "internal/enforce", "a hold is enforced in the ledger's own transaction, never from the decision index"},
	{"internal/ledger", "internal/bulk", "a hold is enforced in the ledger's own transaction, never from the decision index"},
	{"*", "internal/notify", "notify implements the announcer interfaces the domains own; a domain that must announce defines the interface it needs"},
	{"*", "internal/app", "the wiring sits above the domains: only cmd/ and tests call it"},
	{"*", "internal/problem", "problem+json is HTTP: a domain returns an errs.Error and the adapter maps it"},
	{"*", "internal/bearer", "bearer tokens are HTTP: a domain learns who acts from the principal in ctx"},
}

// whyForbidden returns the reason dir may not import target, or "".
func whyForbidden(dir, target string) string {
	for _, f := range forbidden {
		if f.to == target && (f.from == dir || f.from == "*" && !exempt(dir, target)) {
			return f.why
		}
	}
	return ""
}

// exempt reports whether dir is excused a rule for every package: the wiring builds every
// service, notify's included, but not the HTTP helpers; a helper may use another (if
// edges lists it).
func exempt(dir, target string) bool {
	return wiring[dir] && !httpHelpers[target] || httpHelpers[dir] && httpHelpers[target]
}

// mayImport reports whether the edge dir → target is listed. The shared packages have
// their own lists, so that the leaves stay leaves.
func mayImport(dir, target string) bool {
	switch {
	case slices.Contains(shared, target) && !slices.Contains(shared, dir):
		return true
	case wiring[dir]:
		_, ok := edges[target]
		return ok && !httpHelpers[target]
	}
	return slices.Contains(edges[dir], target)
}

func TestDependencyDirection(t *testing.T) {
	for dir, p := range packages(t) {
		for imp := range p.imports {
			if !strings.HasPrefix(imp, module) {
				if imp == "database/sql" && !isAdapter(dir) {
					t.Errorf("%s imports database/sql: storage belongs in internal/sqlstore", dir)
				}
				continue
			}
			target := strings.TrimPrefix(imp, module)
			switch {
			case !isAdapter(dir) && isAdapter(target):
				t.Errorf("%s imports the adapter %s: adapters import the domain, never the reverse", dir, target)
			case strings.HasPrefix(dir, "internal/") && isAdapter(dir) && isAdapter(target) &&
				!strings.HasPrefix(target, dir) && !strings.HasPrefix(dir, target):
				t.Errorf("adapter %s imports the adapter %s: adapters meet only in cmd/", dir, target)
			}
		}
	}
}

func TestDomainEdges(t *testing.T) {
	for dir, p := range packages(t) {
		if isAdapter(dir) {
			continue
		}
		if _, ok := edges[dir]; !ok {
			t.Errorf("%s is not in edges: list it with the packages it may import", dir)
			continue
		}
		for imp := range p.imports {
			target, ok := strings.CutPrefix(imp, module)
			if !ok || isAdapter(target) { // adapters: TestDependencyDirection
				continue
			}
			if why := whyForbidden(dir, target); why != "" {
				t.Errorf("%s imports %s, a forbidden edge: %s", dir, target, why)
			} else if !mayImport(dir, target) {
				t.Errorf("%s imports %s, but the edge %s → %s is not in edges", dir, target, short(dir), short(target))
			}
		}
	}
}

// TestEdgesAgree checks the lists against each other, so that a rule cannot be allowed
// and forbidden at once.
func TestEdgesAgree(t *testing.T) {
	for _, f := range forbidden {
		if _, ok := edges[f.from]; !ok && f.from != "*" {
			t.Errorf("forbidden names %s, which is not in edges", f.from)
		}
		if _, ok := edges[f.to]; !ok {
			t.Errorf("forbidden names %s, which is not in edges", f.to)
		}
		for dir := range edges {
			if (f.from == dir || (f.from == "*" && !exempt(dir, f.to))) && slices.Contains(edges[dir], f.to) {
				t.Errorf("edges lets %s import %s, which forbidden refuses: %s", dir, f.to, f.why)
			}
		}
	}
	for dir, to := range edges {
		for _, target := range to {
			if _, ok := edges[target]; !ok {
				t.Errorf("edges lets %s import %s, which is not in edges", dir, target)
			}
		}
	}
}

// short names a package as DESIGN.md does: reports, not internal/reports.
func short(dir string) string { return strings.TrimPrefix(dir, "internal/") }
