package flows

import (
	"errors"
	"fmt"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// BudgetVar is the environment name under which an evaluator passes its
// *Budget to the programs flows compiles. Every iteration of a closure
// (map, filter, reduce, all, any, count, sortBy, …) is charged to it;
// closures are the only loops an expression has. An env without it runs
// without a budget.
const BudgetVar = "$budget"

// budgetFunc is the function the compiler calls at the start of every
// closure iteration.
const budgetFunc = "$spend"

// ErrBudget reports an evaluation that used up its Budget. The vm wraps it
// into the expression's run-time error, so it is traced like expr's own
// memory budget.
var ErrBudget = errors.New("expression budget exceeded")

// Budget bounds the work of the expressions of one evaluation unit (the
// engine: one step). Ops counts closure iterations; past MaxOps evaluation
// fails with ErrBudget, deterministically. A closure iteration may still be
// expensive (it may copy a large string), so every 64 iterations the Budget
// also reads Clock and fails once MaxTime has passed since its first read;
// an evaluation with fewer than 64 iterations never reads the clock.
// The zero MaxOps or MaxTime means no limit of that kind. Not safe for
// concurrent use.
type Budget struct {
	MaxOps  int
	MaxTime time.Duration
	Clock   func() time.Time // nil: time.Now

	Ops      int
	deadline time.Time
}

// spend charges one closure iteration.
func (b *Budget) spend() error {
	b.Ops++
	if b.MaxOps > 0 && b.Ops > b.MaxOps {
		return fmt.Errorf("%w: more than %d loop iterations", ErrBudget, b.MaxOps)
	}
	if b.MaxTime <= 0 || b.Ops%64 != 0 {
		return nil
	}
	clock := b.Clock
	if clock == nil {
		clock = time.Now
	}
	now := clock()
	if b.deadline.IsZero() {
		b.deadline = now.Add(b.MaxTime)
		return nil
	}
	if now.After(b.deadline) {
		return fmt.Errorf("%w: more than %s of evaluation", ErrBudget, b.MaxTime)
	}
	return nil
}

// budgetOptions make every closure body charge the budget: the patcher
// turns `body` into `$spend($budget); body` (a sequence has the type of its
// last expression, so types are unchanged).
var budgetOptions = []expr.Option{
	expr.Function(budgetFunc, func(args ...any) (any, error) {
		if b, ok := args[0].(*Budget); ok && b != nil {
			return nil, b.spend()
		}
		return nil, nil
	}),
	expr.Patch(budgetPatcher{}),
}

type budgetPatcher struct{}

func (budgetPatcher) Visit(node *ast.Node) {
	p, ok := (*node).(*ast.PredicateNode)
	if !ok {
		return
	}
	if seq, ok := p.Node.(*ast.SequenceNode); ok && len(seq.Nodes) > 0 {
		if c, ok := seq.Nodes[0].(*ast.CallNode); ok {
			if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == budgetFunc {
				return // already patched
			}
		}
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: budgetFunc}, Arguments: []ast.Node{&ast.IdentifierNode{Value: BudgetVar}}}
	ast.Patch(&p.Node, &ast.SequenceNode{Nodes: []ast.Node{call, p.Node}})
}
