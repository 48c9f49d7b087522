// Command apicount prints the size of the library's exported API, package
// by package, so the API review (issue 16) can say by how much it shrank:
//
//	go run ./scripts/apicount                  # this checkout, as columns
//	go run ./scripts/apicount -markdown DIR    # the checkout at DIR, as a Markdown table
//
// The packages are those of the library module at DIR: every directory
// holding non-test Go files, less internal/ and testdata/ directories and
// nested modules (cmd/audexum, scripts, sqlstore/dbtest, bench). Only the
// files the go command would build for this GOOS and GOARCH are read, test
// files never.
//
// An exported identifier is counted once where it is declared:
//
//   - consts, vars, funcs: exported top-level names (each name of a
//     grouped or multi-name declaration counts);
//   - types: exported top-level type names, aliases included;
//   - methods: exported methods declared on an exported type (value or
//     pointer receiver), plus the exported methods an exported interface
//     type lists itself (an embedded interface adds nothing: its methods
//     are counted where it is declared);
//   - fields: exported fields of exported struct types, an embedded field
//     counting under its type's name when that name is exported.
//
// Methods and fields of unexported types are not counted even where an
// exported function returns such a type: go doc does not show them either.
//
// "go doc" is the line count of go doc -all for the package (blank lines
// included), run in DIR with GOWORK=off: how much a reader has to read.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

func main() {
	markdown := flag.Bool("markdown", false, "print a Markdown table")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: apicount [-markdown] [dir]")
		flag.PrintDefaults()
	}
	flag.Parse()
	root := "."
	switch flag.NArg() {
	case 0:
	case 1:
		root = flag.Arg(0)
	default:
		flag.Usage()
		os.Exit(2)
	}
	rows, err := countModule(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicount:", err)
		os.Exit(1)
	}
	if *markdown {
		writeMarkdown(os.Stdout, rows)
	} else {
		writeColumns(os.Stdout, rows)
	}
}

// Counts is the exported API of one package.
type Counts struct {
	Consts, Vars, Funcs, Types, Methods, Fields int
}

// Total is the number of exported identifiers.
func (c Counts) Total() int {
	return c.Consts + c.Vars + c.Funcs + c.Types + c.Methods + c.Fields
}

func (c *Counts) add(o Counts) {
	c.Consts += o.Consts
	c.Vars += o.Vars
	c.Funcs += o.Funcs
	c.Types += o.Types
	c.Methods += o.Methods
	c.Fields += o.Fields
}

// row is one package of the table.
type row struct {
	Dir      string // relative to the module root, "." for the root package
	Counts   Counts
	DocLines int
}

// countModule counts every library package of the module rooted at root.
func countModule(root string) ([]row, error) {
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("%s is not a module root: %w", root, err)
	}
	dirs, err := packageDirs(root)
	if err != nil {
		return nil, err
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no packages under %s", root)
	}
	var rows []row
	for _, dir := range dirs {
		c, err := countDir(filepath.Join(root, dir))
		if err != nil {
			return nil, err
		}
		lines, err := docLines(root, dir)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{Dir: dir, Counts: c, DocLines: lines})
	}
	return rows, nil
}

// packageDirs returns the directories under root, relative to it, that
// hold a package of root's module which is not internal.
func packageDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name := d.Name()
		if rel != "." {
			if name == "internal" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
		}
		files, err := goFiles(path)
		if err != nil {
			return err
		}
		if len(files) > 0 {
			dirs = append(dirs, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(dirs) // "." sorts first
	return dirs, err
}

// goFiles returns the non-test Go files of dir the go command would build.
func goFiles(dir string) ([]string, error) {
	pkg, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		if _, ok := errors.AsType[*build.NoGoError](err); ok {
			return nil, nil
		}
		return nil, err
	}
	files := slices.Concat(pkg.GoFiles, pkg.CgoFiles)
	for i, f := range files {
		files[i] = filepath.Join(dir, f)
	}
	return files, nil
}

// countDir counts the exported identifiers of the package in dir.
func countDir(dir string) (Counts, error) {
	files, err := goFiles(dir)
	if err != nil {
		return Counts{}, err
	}
	fset := token.NewFileSet()
	var c Counts
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return Counts{}, err
		}
		c.add(countFile(f))
	}
	return c, nil
}

// countFile counts the exported identifiers declared in f.
func countFile(f *ast.File) Counts {
	var c Counts
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv == nil {
				c.Funcs++
			} else if len(d.Recv.List) == 1 && ast.IsExported(typeName(d.Recv.List[0].Type)) {
				c.Methods++
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					n := exportedNames(s.Names)
					if d.Tok == token.CONST {
						c.Consts += n
					} else {
						c.Vars += n
					}
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					c.Types++
					switch t := s.Type.(type) {
					case *ast.StructType:
						c.Fields += exportedFields(t.Fields, true)
					case *ast.InterfaceType:
						c.Methods += exportedFields(t.Methods, false)
					}
				}
			}
		}
	}
	return c
}

// exportedFields counts the exported names in a struct's field list or
// an interface's method list. An embedded struct field is named after its
// type; with embedded false (interfaces), an embedded interface or a
// constraint term adds nothing.
func exportedFields(list *ast.FieldList, embedded bool) int {
	n := 0
	for _, field := range list.List {
		switch {
		case len(field.Names) > 0:
			n += exportedNames(field.Names)
		case embedded && ast.IsExported(typeName(field.Type)):
			n++
		}
	}
	return n
}

func exportedNames(names []*ast.Ident) int {
	n := 0
	for _, name := range names {
		if name.IsExported() {
			n++
		}
	}
	return n
}

// typeName returns the name of the named type expr denotes, without
// pointer, package qualifier or type arguments: "T" for T, *T, pkg.T,
// T[K] and *T[K, V]; "" when expr is not a named type.
func typeName(expr ast.Expr) string {
	for {
		switch e := expr.(type) {
		case *ast.Ident:
			return e.Name
		case *ast.StarExpr:
			expr = e.X
		case *ast.ParenExpr:
			expr = e.X
		case *ast.SelectorExpr:
			return e.Sel.Name
		case *ast.IndexExpr:
			expr = e.X
		case *ast.IndexListExpr:
			expr = e.X
		default:
			return ""
		}
	}
}

// docLines is the line count of go doc -all for the package in dir,
// relative to the module root.
func docLines(root, dir string) (int, error) {
	arg := "./" + dir
	if dir == "." {
		arg = "."
	}
	cmd := exec.Command("go", "doc", "-all", arg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("go doc -all %s in %s: %v\n%s", arg, root, err, stderr.Bytes())
	}
	return bytes.Count(out, []byte("\n")), nil
}

func writeColumns(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "package\tconsts\tvars\tfuncs\ttypes\tmethods\tfields\texported\tgo doc lines\t")
	for _, r := range withTotal(rows) {
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", r.Dir, c.Consts, c.Vars, c.Funcs, c.Types, c.Methods, c.Fields, c.Total(), r.DocLines)
	}
	tw.Flush()
}

func writeMarkdown(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| package | consts | vars | funcs | types | methods | fields | exported | `go doc -all` lines |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range withTotal(rows) {
		c := r.Counts
		dir := "`" + r.Dir + "`"
		if r.Dir == "total" {
			dir = "**total**"
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", dir, c.Consts, c.Vars, c.Funcs, c.Types, c.Methods, c.Fields, c.Total(), r.DocLines)
	}
}

// withTotal returns rows followed by a row adding them up.
func withTotal(rows []row) []row {
	total := row{Dir: "total"}
	for _, r := range rows {
		total.Counts.add(r.Counts)
		total.DocLines += r.DocLines
	}
	return append(slices.Clip(rows), total)
}
