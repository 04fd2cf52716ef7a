; strings.scm -- strings, symbols and string ports: building, slicing,
; comparing, printing with write and display, and strings built in a loop.
(define s (string-append "Hello, " "world" "!"))
(display s) (newline)
(write s) (newline)
(write "quote \" and backslash \\") (newline)
(display (list (string-length s) (substring s 7 12))) (newline)
(display (string=? (substring s 0 5) "Hello")) (newline)
(display (number->string -1234)) (newline)
(display (eq? (string->symbol "abc") 'abc)) (newline)
(display (symbol->string 'xyz)) (newline)

(define (repeat str n) (if (= n 0) "" (string-append str (repeat str (- n 1)))))
(display (string-length (repeat "ab" 500))) (newline)

; A string port collects output; its text survives collections.
(define port (open-output-string))
(define (emit-numbers i n) (if (< i n) (begin (display i port) (display " " port) (emit-numbers (+ i 1) n))))
(emit-numbers 0 10)
(write '(a "b" #(c)) port)
(gc)
(display (get-output-string port)) (newline)
(close-port port)
(display port) (newline)

; Many strings made and dropped; the ones kept are intact.
(define kept (make-vector 100 #f))
(define (churn i)
  (if (< i (if (= scale 0) 300 (* 3000 scale)))
      (let ((str (string-append "item-" (number->string i))))
        (if (= (remainder i 30) 0) (vector-set! kept (remainder (quotient i 30) 100) str))
        (churn (+ i 1)))))
(churn 0)
(display (string? (vector-ref kept 0))) (newline)
(display (string=? (substring (vector-ref kept 1) 0 5) "item-")) (newline)
