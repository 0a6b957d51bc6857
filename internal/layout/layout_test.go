// Package layout_test checks the conventions of STYLE.md that a compiler does not: every
// package says what it is for, domain packages know nothing of storage or HTTP, and the
// adapters do not import each other.
package layout_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
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
				t.Errorf("domain package %s imports the adapter %s", dir, target)
			case strings.HasPrefix(dir, "internal/") && isAdapter(dir) && isAdapter(target) &&
				!strings.HasPrefix(target, dir) && !strings.HasPrefix(dir, target):
				t.Errorf("adapter %s imports the adapter %s: adapters meet only in cmd/", dir, target)
			}
		}
	}
}
