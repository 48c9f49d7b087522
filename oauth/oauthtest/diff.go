package oauthtest

import (
	"fmt"
	"reflect"
	"time"

	"github.com/audexum/auth"
)

var (
	timeType   = reflect.TypeFor[time.Time]()
	scopesType = reflect.TypeFor[auth.Scopes]()
)

// diff compares want and got field by field and describes the first
// difference, or returns "". Times compare by instant (a store may return
// another location or a monotonic-free copy) and scopes by content. It
// keeps the suites free of dependencies beyond the standard library.
func diff(want, got any) string {
	return diffValue("", reflect.ValueOf(want), reflect.ValueOf(got))
}

func diffValue(path string, w, g reflect.Value) string {
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			return fmt.Sprintf("%s: want %v, got %v", label(path), w, g)
		}
		return ""
	}
	if w.Type() != g.Type() {
		return fmt.Sprintf("%s: want type %s, got %s", label(path), w.Type(), g.Type())
	}
	switch w.Type() {
	case timeType:
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		if !wt.Equal(gt) {
			return fmt.Sprintf("%s: want %v, got %v", label(path), wt, gt)
		}
		return ""
	case scopesType:
		ws, gs := w.Interface().(auth.Scopes), g.Interface().(auth.Scopes)
		if !ws.Equal(gs) {
			return fmt.Sprintf("%s: want %q, got %q", label(path), ws, gs)
		}
		return ""
	}
	switch w.Kind() {
	case reflect.Pointer:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				return fmt.Sprintf("%s: want nil %v, got nil %v", label(path), w.IsNil(), g.IsNil())
			}
			return ""
		}
		return diffValue(path, w.Elem(), g.Elem())
	case reflect.Struct:
		for i := range w.NumField() {
			f := w.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if d := diffValue(path+"."+f.Name, w.Field(i), g.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if w.Len() != g.Len() {
			return fmt.Sprintf("%s: want %d elements %v, got %d %v", label(path), w.Len(), w, g.Len(), g)
		}
		fallthrough
	case reflect.Array:
		for i := range w.Len() {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i)); d != "" {
				return d
			}
		}
		return ""
	}
	if !reflect.DeepEqual(w.Interface(), g.Interface()) {
		return fmt.Sprintf("%s: want %v, got %v", label(path), w, g)
	}
	return ""
}

func label(path string) string {
	if path == "" {
		return "value"
	}
	return path[1:]
}
