; closures.scm -- closures capture their environment and keep their own
; state: counters, accumulators, closures over closures, set! on captured
; variables, variadic procedures, and many closures alive at once.
(define (make-counter)
  (let ((n 0))
    (lambda () (set! n (+ n 1)) n)))
(define a (make-counter))
(define b (make-counter))
(a) (a) (b)
(display (list (a) (b))) (newline)

(define (make-accumulator total)
  (lambda (x) (set! total (+ total x)) total))
(define acc (make-accumulator 100))
(acc 10)
(display (acc 5)) (newline)

(define (compose f g) (lambda (x) (f (g x))))
(define add1 (lambda (x) (+ x 1)))
(define double (lambda (x) (* x 2)))
(display ((compose add1 double) 20)) (newline)
(display ((compose double add1) 20)) (newline)

(define (curry3 f) (lambda (x) (lambda (y) (lambda (z) (f x y z)))))
(display ((((curry3 list) 1) 2) 3)) (newline)

(define (count-args . xs) (length xs))
(display (list (count-args) (count-args 1 2 3))) (newline)

; Many counters alive at once, each stepped a different number of times,
; while the program allocates: every one keeps its own count.
(define (make-counters n)
  (define v (make-vector n #f))
  (define (fill i) (if (< i n) (begin (vector-set! v i (make-counter)) (fill (+ i 1)))))
  (fill 0)
  v)
(define ncounters (if (= scale 0) 20 200))
(define counters (make-counters ncounters))
(define (step-all round)
  (define (go i)
    (if (< i ncounters)
        (begin
          (if (= (remainder i (+ round 1)) 0) ((vector-ref counters i)))
          (go (+ i 1)))))
  (go 0))
(define (rounds r limit)
  (if (< r limit) (begin (step-all r) (rounds (+ r 1) limit))))
(rounds 0 (* 10 scale))
; counter i was stepped once per round r with i mod (r+1) = 0; call it once more
(define (expected i r limit)
  (if (= r limit) 0 (+ (if (= (remainder i (+ r 1)) 0) 1 0) (expected i (+ r 1) limit))))
(define (check i ok)
  (if (= i ncounters) ok
      (check (+ i 1) (and ok (= ((vector-ref counters i)) (+ 1 (expected i 0 (* 10 scale))))))))
(display (check 0 #t)) (newline)
