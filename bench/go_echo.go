// A plain Go echo server: a goroutine per connection and io.Copy, what a Go user would write.
// Benchmark comparison only (docs/BENCHMARKS.md). GOMAXPROCS=1 keeps it to one thread of Go
// code, like the others.
//
//	go_echo PORT
package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go_echo PORT")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_echo:", err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			io.Copy(c, c)
		}(c)
	}
}
