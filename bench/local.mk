# bench/: benchmark programs (built by `make bench`, never by make check).
