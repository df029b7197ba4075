// Benchmark peer, not a test oracle: a Dubbo-framed server that answers every two-way request
// with one fixed OK reply body read from a file, and echoes heartbeats. Written in Go so that the
// upstream costs as little CPU as possible when bench/table.ts measures how Ferry scales across
// worker processes on a two-core machine: a Node peer spent 6–8 µs per call there.
//
//	dubbo-replay -reply get-account.reply -listen 127.0.0.1:0
//
// It prints "port N" on stdout once listening. Replies to all complete requests in one read are
// written with one write.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
)

const (
	headerLen   = 16
	magicHi     = 0xda
	magicLo     = 0xbb
	flagRequest = 0x80
	flagTwoWay  = 0x40
	flagEvent   = 0x20
	serialMask  = 0x1f
	statusOK    = 20
	maxBody     = 8 << 20
)

func main() {
	replyPath := flag.String("reply", "", "file holding the reply body (Hessian2)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	reply, err := os.ReadFile(*replyPath)
	if err != nil {
		log.Fatalf("reading reply body: %v", err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		conn, err := ln.Accept()
		if err != nil {
			log.Fatalf("accept: %v", err)
		}
		go serve(conn, reply)
	}
}

func serve(conn net.Conn, reply []byte) {
	defer conn.Close()
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	in := bufio.NewReaderSize(conn, 64<<10)
	var out []byte
	header := make([]byte, headerLen)
	for {
		if _, err := io.ReadFull(in, header); err != nil {
			return
		}
		if header[0] != magicHi || header[1] != magicLo {
			log.Printf("bad magic from %v; closing", conn.RemoteAddr())
			return
		}
		flags := header[2]
		bodyLen := int(binary.BigEndian.Uint32(header[12:16]))
		if bodyLen < 0 || bodyLen > maxBody {
			log.Printf("body of %d bytes from %v; closing", bodyLen, conn.RemoteAddr())
			return
		}
		answer := reply
		replyFlags := flags & serialMask
		if flags&flagEvent != 0 {
			// A heartbeat is answered with its own body.
			answer = make([]byte, bodyLen)
			if _, err := io.ReadFull(in, answer); err != nil {
				return
			}
			replyFlags |= flagEvent
		} else if _, err := in.Discard(bodyLen); err != nil {
			return
		}
		if flags&flagRequest != 0 && flags&flagTwoWay != 0 {
			out = append(out, magicHi, magicLo, replyFlags, statusOK)
			out = append(out, header[4:12]...)
			out = binary.BigEndian.AppendUint32(out, uint32(len(answer)))
			out = append(out, answer...)
		}
		// Write once no further whole frame is buffered: one write per batch the client sent.
		if len(out) > 0 && !wholeFrameBuffered(in) {
			if _, err := conn.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

func wholeFrameBuffered(in *bufio.Reader) bool {
	// Peek would block for more input, so look only at what is already buffered.
	if in.Buffered() < headerLen {
		return false
	}
	head, err := in.Peek(headerLen)
	if err != nil {
		return false
	}
	return in.Buffered() >= headerLen+int(binary.BigEndian.Uint32(head[12:16]))
}
