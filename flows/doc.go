// Package flows loads dmflow flow files: YAML state machines for Instagram DM
// conversations. It parses YAML into positioned nodes, decodes them into the
// AST of ast.go, compiles every expression and template with expr-lang/expr
// against the typed environment of env.go, and runs the static checks of the
// flow language. The result is an immutable Bundle the engine executes.
//
// # Loading
//
//	b, err := flows.Load("flows/")                 // files or directories
//	b, err := flows.LoadFS(fsys, "flows")          // any fs.FS
//	b, err := (&flows.Options{Funcs: f, Actions: a}).Load("flows/")
//	f, err := flows.Parse("x.yaml", src, opts)     // one flow, no cross-flow checks
//
// Directories contribute their *.yaml and *.yml files, not recursively, except
// *.test.yaml (conversation tests). Every YAML document of a file is one flow.
//
// # Diagnostics
//
// Problems are reported all at once, as an ErrorList sorted by position, one
// "file:line:col: message" per line; warnings render as
// "file:line:col: warning: message". The load error is nil when there are
// only warnings: they are in Bundle.Warnings (and Flow.Warnings), so callers
// decide (`dmflow validate --strict` fails on them). errors.As works with
// both ErrorList and *Error. Errors in expressions point at the offending
// token inside the YAML scalar (plain, quoted and literal-block scalars;
// folded blocks and strings with escapes point at the scalar's start).
//
// # Expressions
//
// Conditions (`when`, `validate`) must be bool; `set`, `save`, `args` and
// `body` may have any type that fits the target variable; templates
// (`{{ expr }}` in reply texts, titles, URLs, headers) accept any type and
// render it with Format. Expressions see event, user and now, every declared
// variable with its declared type, `input` inside ask.validate and `response`
// inside action.save. The builtin now() is disabled (time comes from the
// environment, so steps are deterministic), date() parses in UTC, `+` also
// concatenates lists, and the helpers listed in Helpers are available with
// compile-time type checks. Embedders add pure functions with Options.Funcs.
//
// Expr.Eval, Expr.EvalBool and Template.Render run compiled programs with a
// pooled vm.VM; they are safe for concurrent use. The engine passes variables
// converted with VarType.Coerce, because programs are compiled for the
// declared types (an int variable must hold an int, a []string a []any of
// strings).
//
// # Caveats
//
//   - Hostile input: files over MaxFileSize (1 MiB) are refused before
//     parsing; anchors and aliases are refused (no billion-laughs expansion);
//     nesting deeper than MaxDepth (64) and more than 64 documents per file are
//     refused; expressions are bounded by expr's node limit and memory budget
//     and, at run time, by the evaluator's Budget (closure iterations, time).
//   - Static text limits (quick replies, titles, buttons, cards, text bytes)
//     are only checked for templates without placeholders; rendered text is
//     checked again by the Instagram adapter.
//   - "Used before set" is a may-analysis over the state graph: it warns when
//     no path can have set the variable, not when some path might not.
//     Each flow has its own variables: a call sets in the caller only the
//     variables its save maps back, so the check needs no other flow.
//     A call's save names are checked against both flows in the bundle.
//   - Without Options.Actions, Go actions (`action: {go: name}`) are not
//     checked; `dmflow validate` cannot know what an embedder registers.
//   - yaml.v3 reports syntax errors with a line but no column (column 1).
//   - A variable of type any compiles as an untyped value: type errors
//     involving it surface at run time, not at load.
package flows
