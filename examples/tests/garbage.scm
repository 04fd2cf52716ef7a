; garbage.scm -- a live structure stays intact while a loop allocates
; garbage around it. The structure (a vector of association lists and a
; binary tree) is old by the time the loop runs; the loop also stores new
; objects into it (vector-set!, set-cdr!), which only the write barrier
; lets a generational collection see.
(define (make-tree depth)
  (if (= depth 0) '() (cons (make-tree (- depth 1)) (make-tree (- depth 1)))))
(define (count-tree t) (if (null? t) 1 (+ (count-tree (car t)) (count-tree (cdr t)))))
(define tree (make-tree (if (= scale 0) 6 10)))
(define table (make-vector 64 '()))
(define (table-put! k v)
  (let ((i (remainder k 64)))
    (let ((entry (assq k (vector-ref table i))))
      (if entry
          (set-cdr! entry (list v))
          (vector-set! table i (cons (list k v) (vector-ref table i)))))))
(define (table-get k) (let ((e (assq k (vector-ref table (remainder k 64))))) (if e (car (cdr e)) #f)))

(define (garbage n) ; lists, vectors, strings and closures, all dropped
  (let ((l (map (lambda (x) (* x x)) (list n n n n n))))
    (vector (string-append "g" (number->string n)) l (lambda () l))))

(define (loop i limit)
  (if (< i limit)
      (begin
        (garbage i)
        (garbage (+ i 1))
        (if (= (remainder i 7) 0) (table-put! (remainder i 500) (list i (number->string i))))
        (loop (+ i 1) limit))))
(loop 0 (* 20000 scale))

; Every key written holds the last value stored under it.
(define (last-i k limit) ; the largest i < limit with i mod 7 = 0 and i mod 500 = k
  (define (go i best) (if (>= i limit) best (go (+ i 500) (if (= (remainder i 7) 0) i best))))
  (go k #f))
(define nkeys (if (= scale 0) 50 500))
(define (check-key k ok)
  (if (= k nkeys) ok
      (let ((want (last-i k (* 20000 scale))) (got (table-get k)))
        (check-key (+ k 1)
                   (and ok (if want (and got (= (car got) want)
                                         (string=? (car (cdr got)) (number->string want)))
                               (not got)))))))
(display (check-key 0 #t)) (newline)
(display (= (count-tree tree) (if (= scale 0) 64 1024))) (newline)
(display (> (collections) 0)) (newline)
