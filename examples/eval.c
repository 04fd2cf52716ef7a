/* eval.c -- the evaluator: special forms (quote, if, define, set!, lambda,
 * begin, let, cond, and, or), environments, procedure application with
 * proper tail calls, and errors.
 *
 * Rooting rule: a C variable that holds a value across anything that may
 * allocate (eval, cons, every constructor) is PROTECTed, including cursors
 * walking a list, because under a moving plan the list may move and a
 * plain pointer into it would then point at the old copy. Every store into
 * a committed object (binding, set!, define) goes through store(), the
 * barrier.
 *
 * Environments: the global one is the symbols' own `global` slots, with
 * every defined symbol on the strong list `globals` (the symbol table is
 * weak, so a defined name must be kept alive here); a local environment is
 * an env object, an association list and its parent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "scheme.h"

value syntax_syms[S_COUNT];
static value globals = NIL;
static jmp_buf *error_jump;

_Noreturn void scheme_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("kscheme: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  if (error_jump == NULL)
    exit(1);
  longjmp(*error_jump, 1);
}

static const char *sym_name(value sym)
{
  return STR(SYM(sym)->name)->chars;
}

static value cadr(value x, const char *form)
{
  if (!has_type(x, T_PAIR) || !has_type(CDR(x), T_PAIR))
    scheme_error("%s: missing operand; see the form's syntax", form);
  return CAR(CDR(x));
}

/* ---- environments ------------------------------------------------------ */

/* The binding pair (sym . value) of sym in a local environment, or NIL. */
static value local_binding(value sym, value env)
{
  for (; env != NIL; env = ENV(env)->parent)
    for (value b = ENV(env)->bindings; b != NIL; b = CDR(b))
      if (CAR(CAR(b)) == sym)
        return CAR(b);
  return NIL;
}

static value lookup(value sym, value env)
{
  value b = local_binding(sym, env);
  if (b != NIL)
    return CDR(b);
  if (SYM(sym)->global == UNBOUND)
    scheme_error("unbound variable '%s'; define it before its use", sym_name(sym));
  return SYM(sym)->global;
}

static void assign(value sym, value v, value env)
{
  value b = local_binding(sym, env);
  if (b != NIL)
    store(b, &CDR(b), v);
  else if (SYM(sym)->global == UNBOUND)
    scheme_error("set!: variable '%s' is not defined; define it first", sym_name(sym));
  else
    store(sym, &SYM(sym)->global, v);
}

void define_global(value sym, value v)
{
  PROTECT2(sym, v);
  if (SYM(sym)->global == UNBOUND)
    globals = cons(sym, globals);
  store(sym, &SYM(sym)->global, v);
  UNPROTECT(2);
}

/* A new binding at the front of env's own frame. */
static void bind(value env, value sym, value v)
{
  PROTECT1(env);
  value b = cons(sym, v);
  b = cons(b, ENV(env)->bindings);
  store(env, &ENV(env)->bindings, b);
  UNPROTECT(1);
}

static void define(value sym, value v, value env)
{
  if (env == NIL) {
    define_global(sym, v);
    return;
  }
  for (value b = ENV(env)->bindings; b != NIL; b = CDR(b))
    if (CAR(CAR(b)) == sym) {
      store(CAR(b), &CDR(CAR(b)), v);
      return;
    }
  bind(env, sym, v);
}

/* A closure's environment for one call: params bound to args. */
static value bind_params(value params, value args, value parent)
{
  value env = NIL;
  PROTECT3(params, args, env);
  env = make_env(parent);
  for (; has_type(params, T_PAIR); params = CDR(params), args = CDR(args)) {
    if (!has_type(args, T_PAIR))
      scheme_error("procedure called with too few arguments");
    bind(env, CAR(params), CAR(args));
  }
  if (has_type(params, T_SYMBOL))
    bind(env, params, args);
  else if (args != NIL)
    scheme_error("procedure called with too many arguments");
  UNPROTECT(3);
  return env;
}

/* ---- evaluation ---------------------------------------------------------- */

static int truthy(value v)
{
  return v != FALSE_V;
}

/* Evaluate all but the last expression of body; return the last (UNSPEC
   for an empty body), for the caller to evaluate in tail position. */
static value all_but_last(value body, value env)
{
  if (body == NIL)
    return UNSPEC;
  PROTECT2(body, env);
  for (; CDR(body) != NIL; body = CDR(body))
    eval(CAR(body), env);
  UNPROTECT(2);
  return CAR(body);
}

static value eval_args(value rest, value env)
{
  value head = NIL, tail = NIL, v = NIL;
  PROTECT3(rest, env, head);
  PROTECT2(tail, v);
  for (; has_type(rest, T_PAIR); rest = CDR(rest)) {
    v = eval(CAR(rest), env);
    list_append(&head, &tail, v);
  }
  UNPROTECT(5);
  return head;
}

static value eval_lambda(value x, value env)
{
  if (!has_type(CDR(x), T_PAIR))
    scheme_error("lambda: missing parameter list; write (lambda (args ...) body ...)");
  return make_closure(CAR(CDR(x)), CDR(CDR(x)), env);
}

static value eval_define(value x, value env)
{
  value target = cadr(x, "define"), v = NIL;
  PROTECT3(x, env, v);
  if (has_type(target, T_PAIR)) { /* (define (name . params) body ...) */
    v = make_closure(CDR(target), CDR(CDR(x)), env);
    target = CAR(CAR(CDR(x)));
    store(v, &CLO(v)->name, target);
  } else {
    if (!has_type(target, T_SYMBOL))
      scheme_error("define: the name is not a symbol; write (define name value)");
    v = has_type(CDR(CDR(x)), T_PAIR) ? eval(CAR(CDR(CDR(x))), env) : UNSPEC;
    target = CAR(CDR(x));
  }
  define(target, v, env);
  UNPROTECT(3);
  return UNSPEC;
}

static value eval_set(value x, value env)
{
  value target = cadr(x, "set!"), v;
  if (!has_type(target, T_SYMBOL))
    scheme_error("set!: the target is not a symbol; write (set! name value)");
  PROTECT2(x, env);
  v = eval(cadr(CDR(x), "set!"), env);
  assign(CAR(CDR(x)), v, env);
  UNPROTECT(2);
  return UNSPEC;
}

/* (let ((name init) ...) body ...): the new environment. */
static value let_env(value x, value env)
{
  value specs = cadr(x, "let"), frame = NIL, v = NIL;
  PROTECT3(env, specs, frame);
  PROTECT1(v);
  frame = make_env(env);
  for (; has_type(specs, T_PAIR); specs = CDR(specs)) {
    if (!has_type(CAR(specs), T_PAIR) || !has_type(CAR(CAR(specs)), T_SYMBOL))
      scheme_error("let: a binding is not (name init); write (let ((name init) ...) body ...)");
    v = eval(cadr(CAR(specs), "let"), env);
    bind(frame, CAR(CAR(specs)), v);
  }
  UNPROTECT(4);
  return frame;
}

/* The state of eval's loop: the expression and environment, both rooted. */
typedef struct evalstate_s {
  value x, env;
} evalstate_t;

/* (cond (test body ...) ... (else body ...)): sets the next expression in
   tail position and returns 1, or returns 0 with the result in *result. */
static int eval_cond(evalstate_t *st, value *result)
{
  value clauses = CDR(st->x), test = NIL;
  PROTECT2(clauses, test);
  int tail = 0;
  *result = UNSPEC;
  for (; has_type(clauses, T_PAIR); clauses = CDR(clauses)) {
    value clause = CAR(clauses);
    if (!has_type(clause, T_PAIR))
      scheme_error("cond: a clause is not a list; write (cond (test body ...) ...)");
    test = CAR(clause) == syntax_syms[S_ELSE] ? TRUE_V : eval(CAR(clause), st->env);
    if (truthy(test)) {
      if (CDR(CAR(clauses)) == NIL) {
        *result = test;
      } else {
        st->x = all_but_last(CDR(CAR(clauses)), st->env);
        tail = 1;
      }
      break;
    }
  }
  UNPROTECT(2);
  return tail;
}

/* (and e ...) / (or e ...): the last expression is in tail position. */
static int eval_and_or(evalstate_t *st, value *result, int is_and)
{
  value rest = CDR(st->x), v = boolean(is_and);
  PROTECT2(rest, v);
  int tail = 0;
  for (; has_type(rest, T_PAIR); rest = CDR(rest)) {
    if (CDR(rest) == NIL) {
      st->x = CAR(rest);
      tail = 1;
      break;
    }
    v = eval(CAR(rest), st->env);
    if (truthy(v) != is_and)
      break;
  }
  *result = v;
  UNPROTECT(2);
  return tail;
}

static value apply_prim(value fn, value args)
{
  return call_prim(((prim_t *)fn)->index, args);
}

/* One step of eval's loop on a special form or an application: TAIL when
   st now holds the next expression to evaluate in tail position, DONE when
   *result is the value. */
enum step { DONE, TAIL };

static enum step eval_if(evalstate_t *st, value *result)
{
  *result = eval(cadr(st->x, "if"), st->env);
  value branches = CDR(CDR(st->x));
  if (!has_type(branches, T_PAIR))
    scheme_error("if: missing consequent; write (if test then [else])");
  if (truthy(*result))
    st->x = CAR(branches);
  else if (has_type(CDR(branches), T_PAIR))
    st->x = CAR(CDR(branches));
  else {
    *result = UNSPEC;
    return DONE;
  }
  return TAIL;
}

/* result is rooted by the caller, so it may hold the operator meanwhile. */
static enum step eval_application(evalstate_t *st, value *result)
{
  value args = NIL;
  PROTECT1(args);
  *result = eval(CAR(st->x), st->env);
  args = eval_args(CDR(st->x), st->env);
  enum step step = DONE;
  if (has_type(*result, T_PRIM)) {
    *result = apply_prim(*result, args);
  } else if (has_type(*result, T_CLOSURE)) {
    st->env = bind_params(CLO(*result)->params, args, CLO(*result)->env);
    st->x = all_but_last(CLO(*result)->body, st->env);
    step = TAIL;
  } else {
    scheme_error("the operator of an application is not a procedure");
  }
  UNPROTECT(1);
  return step;
}

static enum step eval_step(evalstate_t *st, value *result)
{
  value op = CAR(st->x);
  if (op == syntax_syms[S_QUOTE])
    return *result = cadr(st->x, "quote"), DONE;
  if (op == syntax_syms[S_IF])
    return eval_if(st, result);
  if (op == syntax_syms[S_DEFINE])
    return *result = eval_define(st->x, st->env), DONE;
  if (op == syntax_syms[S_SET])
    return *result = eval_set(st->x, st->env), DONE;
  if (op == syntax_syms[S_LAMBDA])
    return *result = eval_lambda(st->x, st->env), DONE;
  if (op == syntax_syms[S_BEGIN])
    return st->x = all_but_last(CDR(st->x), st->env), TAIL;
  if (op == syntax_syms[S_LET]) {
    st->env = let_env(st->x, st->env);
    st->x = all_but_last(CDR(CDR(st->x)), st->env);
    return TAIL;
  }
  if (op == syntax_syms[S_COND])
    return eval_cond(st, result) ? TAIL : DONE;
  if (op == syntax_syms[S_AND] || op == syntax_syms[S_OR])
    return eval_and_or(st, result, op == syntax_syms[S_AND]) ? TAIL : DONE;
  return eval_application(st, result);
}

value eval(value x, value env)
{
  evalstate_t st = {x, env};
  value result = UNSPEC;
  PROTECT3(st.x, st.env, result);
  for (;;) {
    if (has_type(st.x, T_SYMBOL)) {
      result = lookup(st.x, st.env);
      break;
    }
    if (!has_type(st.x, T_PAIR)) {
      result = st.x;
      break;
    }
    if (eval_step(&st, &result) == DONE)
      break;
  }
  UNPROTECT(3);
  return result;
}

value apply(value fn, value args)
{
  value env = NIL, result = UNSPEC;
  PROTECT3(fn, args, env);
  if (has_type(fn, T_PRIM)) {
    result = apply_prim(fn, args);
  } else if (has_type(fn, T_CLOSURE)) {
    env = bind_params(CLO(fn)->params, args, CLO(fn)->env);
    result = all_but_last(CLO(fn)->body, env);
    result = eval(result, env);
  } else {
    scheme_error("apply: the first argument is not a procedure");
  }
  UNPROTECT(3);
  return result;
}

/* ---- set-up and the top level -------------------------------------------- */

int eval_init(void)
{
  static const char *const names[S_COUNT] = {
    [S_QUOTE] = "quote", [S_IF] = "if", [S_DEFINE] = "define", [S_SET] = "set!",
    [S_LAMBDA] = "lambda", [S_BEGIN] = "begin", [S_LET] = "let", [S_COND] = "cond",
    [S_ELSE] = "else", [S_AND] = "and", [S_OR] = "or",
  };
  PROTECT1(globals); /* for the life of the interpreter */
  for (size_t i = 0; i < S_COUNT; i++) {
    value s = intern(names[i], strlen(names[i]));
    syntax_syms[i] = s;
  }
  primitives_define();
  return 1;
}

/* Evaluate one top-level form: 1, or 0 after an error (already printed). */
int eval_toplevel(value x)
{
  jmp_buf here;
  jmp_buf *outer = error_jump;
  size_t depth = root_top;
  error_jump = &here;
  int ok = setjmp(here) == 0;
  if (ok)
    eval(x, NIL);
  root_top = depth;
  error_jump = outer;
  ports_reap();
  return ok;
}
