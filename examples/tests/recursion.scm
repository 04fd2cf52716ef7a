; recursion.scm -- deep and branching recursion: fib, ackermann, mutual
; recursion, a long tail-recursive loop, and a non-tail recursion a few
; thousand frames deep. With scale 0 (the stress runs) the heavy cases
; are skipped and print #t.
(define (heavy check) (or (= scale 0) (check)))

(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(display (fib 12)) (newline)
(display (heavy (lambda () (= (fib 20) 6765)))) (newline)

(define (ack m n)
  (cond ((= m 0) (+ n 1))
        ((= n 0) (ack (- m 1) 1))
        (else (ack (- m 1) (ack m (- n 1))))))
(display (list (ack 1 2) (ack 2 3))) (newline)
(display (heavy (lambda () (= (ack 3 3) 61)))) (newline)

(define (fact n) (if (= n 0) 1 (* n (fact (- n 1)))))
(display (fact 20)) (newline)

(define (my-even? n) (if (= n 0) #t (my-odd? (- n 1))))
(define (my-odd? n) (if (= n 0) #f (my-even? (- n 1))))
(display (list (my-even? 100) (my-odd? 77))) (newline)

; A tail-recursive loop runs in constant C stack.
(define (count-down n) (if (= n 0) 'done (count-down (- n 1))))
(display (count-down (* scale 100000))) (newline)

; Non-tail recursion: builds a list on the way back.
(define (iota-rec n) (if (= n 0) '() (cons n (iota-rec (- n 1)))))
(define n (if (= scale 0) 200 2000))
(define l (iota-rec n))
(display (and (= (length l) n) (= (car l) n) (= (list-ref l (- n 1)) 1))) (newline)
