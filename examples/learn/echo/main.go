// Command echo is the smallest TCP server worth tracing (docs/learn.md,
// section "System calls under the Go runtime"): every connection gets a
// goroutine that writes back whatever it reads.
//
//	go build -o /tmp/echo ./examples/learn/echo && /tmp/echo 5070
package main

import (
	"log"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	log.Print("listening on ", ln.Addr())
	for {
		c, err := ln.Accept() // the goroutine parks until a connection is ready
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf) // parks the goroutine, not the thread
				if err != nil {
					return
				}
				c.Write(buf[:n])
			}
		}()
	}
}
