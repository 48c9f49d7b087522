// Command consttime fails when secret material is compared in variable
// time: with == or != , bytes.Equal, slices.Equal, strings.Compare or
// bytes.Compare instead of crypto/subtle.ConstantTimeCompare or
// hmac.Equal. Such a comparison stops at the first differing byte, so its
// time tells an attacker how much of a forged secret or hash was right
// (issue 17). No functional test can see it; this check can.
//
//	go run ./scripts/consttime work          # every package of go.work (CI)
//	go run ./scripts/consttime ./apikey      # some packages
//
// Secret material is recognised by type and by name (see secretReason): a
// byte array of a hash's size or a type named like a hash or secret; a
// variable, field or function whose name says secret, hash, MAC, pepper,
// digest, password or sum; the result of a crypto/... hash function.
// Comparing with a constant (== "", == nil) only tells emptiness and is
// allowed. Test files are not checked.
//
// A comparison that is not of a secret but looks like one is kept with a
// comment on its line saying why, which the check then accepts:
//
//	if kid == stored.kid { //consttime:public key IDs are published in the JWKS
//
// -overlay takes the go command's overlay file, so the mutation run
// (scripts/mutate) can check a mutated file without writing it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

func main() {
	overlay := flag.String("overlay", "", "go command overlay file (JSON), applied to the packages checked")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: consttime [-overlay file] packages")
		os.Exit(2)
	}
	findings, err := run(*overlay, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "consttime:", err)
		os.Exit(2)
	}
	for _, f := range findings {
		fmt.Println(f)
	}
	if len(findings) > 0 {
		fmt.Printf("consttime: %d comparison(s) of secret material in variable time: use crypto/subtle.ConstantTimeCompare or hmac.Equal\n", len(findings))
		os.Exit(1)
	}
}

// listedPackage is what go list tells of a package.
type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Export     string
	Standard   bool
	DepOnly    bool
	Error      *struct{ Err string }
}

// run type-checks the packages matched by patterns from source, with their
// dependencies from the export data go list -export writes, and returns
// every finding as "file:line:col: message".
func run(overlay string, patterns []string) ([]string, error) {
	args := []string{"list", "-e", "-json=ImportPath,Dir,GoFiles,Export,Standard,DepOnly,Error", "-export", "-deps"}
	replace := map[string]string{}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
		b, err := os.ReadFile(overlay)
		if err != nil {
			return nil, err
		}
		var ov struct{ Replace map[string]string }
		if err := json.Unmarshal(b, &ov); err != nil {
			return nil, fmt.Errorf("overlay: %v", err)
		}
		replace = ov.Replace
	}
	cmd := exec.Command("go", append(args, patterns...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v", err)
	}
	exports := make(map[string]string)
	var targets []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Error != nil {
			return nil, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly && !p.Standard {
			targets = append(targets, p)
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	var findings []string
	for _, p := range targets {
		var files []*ast.File
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			src := path
			if r, ok := replace[path]; ok {
				src = r
			}
			b, err := os.ReadFile(src)
			if err != nil {
				return nil, err
			}
			f, err := parser.ParseFile(fset, path, b, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
		info := &types.Info{Types: make(map[ast.Expr]types.TypeAndValue), Uses: make(map[*ast.Ident]types.Object), Defs: make(map[*ast.Ident]types.Object)}
		conf := types.Config{Importer: imp}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			return nil, fmt.Errorf("type-checking %s: %v", p.ImportPath, err)
		}
		findings = append(findings, check(fset, files, info)...)
	}
	return findings, nil
}

// publicRe marks a line whose comparison is of public data, with a reason.
var publicRe = regexp.MustCompile(`//consttime:public \S`)

// check returns the variable-time comparisons of secret material in files.
func check(fset *token.FileSet, files []*ast.File, info *types.Info) []string {
	var out []string
	for _, f := range files {
		public := make(map[int]bool)
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if publicRe.MatchString(c.Text) {
					public[fset.Position(c.Pos()).Line] = true
				}
			}
		}
		report := func(n ast.Node, what string, x ast.Expr, why string) {
			pos := fset.Position(n.Pos())
			if public[pos.Line] {
				return
			}
			out = append(out, fmt.Sprintf("%s: %s compares %s (%s) in variable time", pos, what, render(fset, x), why))
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if n.Op != token.EQL && n.Op != token.NEQ {
					return true
				}
				if isConst(info, n.X) || isConst(info, n.Y) {
					return true
				}
				for _, x := range []ast.Expr{n.X, n.Y} {
					if why := secretReason(info, x); why != "" {
						report(n, n.Op.String(), x, why)
						break
					}
				}
			case *ast.CallExpr:
				name := calleeName(info, n)
				switch name {
				case "bytes.Equal", "bytes.Compare", "strings.Compare", "slices.Equal", "reflect.DeepEqual":
				default:
					return true
				}
				if len(n.Args) != 2 || isConst(info, n.Args[0]) || isConst(info, n.Args[1]) {
					return true
				}
				for _, x := range n.Args {
					if why := secretReason(info, x); why != "" {
						report(n, name, x, why)
						break
					}
				}
			}
			return true
		})
	}
	return out
}

func render(fset *token.FileSet, x ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, x); err != nil {
		return "?"
	}
	return b.String()
}

// isConst reports whether x is a constant, nil or a zero composite
// literal: comparing with one says only whether the secret is empty or
// absent.
func isConst(info *types.Info, x ast.Expr) bool {
	if c, ok := ast.Unparen(x).(*ast.CompositeLit); ok && len(c.Elts) == 0 {
		return true // the zero value: Hash{}
	}
	tv, ok := info.Types[x]
	return ok && (tv.Value != nil || tv.IsNil())
}

// secretWords are the name parts that mark secret material.
var secretWords = regexp.MustCompile(`(?i)(secret|hash|hmac|mac$|^mac|pepper|digest|passw|passphrase|^sum$|sum$|credential$|^key$|apikey|privatekey)`)

// hashSizes are the sizes of SHA-256, SHA-384 and SHA-512 sums.
var hashSizes = map[int64]bool{32: true, 48: true, 64: true}

// secretReason says why x is secret material, or returns "". Only bytes
// are: strings, byte slices and byte arrays, whose comparison takes time
// in proportion to the matching prefix. Pointers, interfaces (error
// sentinels) and numbers compare in one step.
func secretReason(info *types.Info, x ast.Expr) string {
	x = ast.Unparen(x)
	if !isBytes(info.Types[x].Type) {
		return ""
	}
	if why := secretType(info.Types[x].Type); why != "" {
		return why
	}
	var of ast.Expr // what x is a part or a form of
	switch e := x.(type) {
	case *ast.CallExpr:
		if tv, ok := info.Types[e.Fun]; ok && tv.IsType() && len(e.Args) == 1 {
			of = e.Args[0] // a conversion: string(h[:]), []byte(secret)
			break
		}
		name := calleeName(info, e)
		if strings.HasPrefix(name, "crypto/") || strings.HasPrefix(name, "hash.") {
			return "result of " + name
		}
		if i := strings.LastIndexByte(name, '.'); i >= 0 && secretWords.MatchString(name[i+1:]) {
			return "result of " + name
		}
	case *ast.SliceExpr:
		of = e.X // h[:]: h may be an array or a pointer to one
	case *ast.StarExpr:
		of = e.X // *h
	case *ast.IndexExpr:
		of = e.X // one secret of a list is still secret
	}
	if of != nil {
		of = ast.Unparen(of)
		if why := secretType(info.Types[of].Type); why != "" {
			return why
		}
		if why := secretReason(info, of); why != "" {
			return why
		}
		if name := exprName(of); name != "" && secretWords.MatchString(name) {
			return "named " + name
		}
	}
	if name := exprName(x); name != "" && secretWords.MatchString(name) {
		return "named " + name
	}
	return ""
}

// isBytes reports whether t is a string, a byte slice or a byte array.
func isBytes(t types.Type) bool {
	if t == nil {
		return false
	}
	var elem types.Type
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Slice:
		elem = u.Elem()
	case *types.Array:
		elem = u.Elem()
	default:
		return false
	}
	b, ok := elem.Underlying().(*types.Basic)
	return ok && b.Kind() == types.Byte
}

// secretType recognises hash sums by their type.
func secretType(t types.Type) string {
	if t == nil {
		return ""
	}
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := t.(*types.Named); ok && secretWords.MatchString(n.Obj().Name()) {
		return "of type " + n.Obj().Name()
	}
	if a, ok := t.Underlying().(*types.Array); ok && hashSizes[a.Len()] {
		if b, ok := a.Elem().Underlying().(*types.Basic); ok && b.Kind() == types.Byte {
			return fmt.Sprintf("a [%d]byte, a hash's size", a.Len())
		}
	}
	return ""
}

// exprName is the name an expression is known by: an identifier, the
// field of a selector, or a called function's name.
func exprName(x ast.Expr) string {
	switch e := x.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// calleeName is "pkg.Func" for a call of a package-level function (pkg the
// package's path for crypto packages, else its name), "Type.Method" for a
// method, or the called identifier.
func calleeName(info *types.Info, call *ast.CallExpr) string {
	var id *ast.Ident
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return ""
	}
	obj := info.Uses[id]
	fn, ok := obj.(*types.Func)
	if !ok || fn.Pkg() == nil {
		return id.Name
	}
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		recv := sig.Recv().Type()
		if p, ok := recv.(*types.Pointer); ok {
			recv = p.Elem()
		}
		if n, ok := recv.(*types.Named); ok {
			if strings.HasPrefix(n.Obj().Pkg().Path(), "crypto/") || strings.HasPrefix(n.Obj().Pkg().Path(), "hash") {
				return n.Obj().Pkg().Path() + "." + n.Obj().Name() + "." + fn.Name()
			}
			return n.Obj().Name() + "." + fn.Name()
		}
		return fn.Name()
	}
	path := fn.Pkg().Path()
	if strings.HasPrefix(path, "crypto/") {
		return path + "." + fn.Name()
	}
	return fn.Pkg().Name() + "." + fn.Name()
}
