package main

import (
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/ipv4"
)

// BenchmarkSendTone measures one tick of the sender with 1000 streaming
// legs (1000 packets per op through sendmmsg). It must not allocate.
func BenchmarkSendTone(b *testing.B) {
	e, err := newEngine("bench", loopback, 4, false)
	if err != nil {
		b.Fatal(err)
	}
	defer e.closeSockets()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	to := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	const legs = 1000
	for range legs {
		if err := e.newLeg(true).start(to, ptPCMU); err != nil {
			b.Fatal(err)
		}
	}
	e.sendTone(1) // grow the batches before measuring
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.sendTone(1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*legs), "ns/packet")
	if n := e.txErrors.Load(); n > 0 {
		b.Fatalf("%d send errors, first: %s", n, e.sendErr)
	}
}

// BenchmarkReceiveBatch measures receiving and accounting a batch of 64
// packets of 64 streams (recvmmsg, SSRC demux, loss and tone check),
// including the loopback sendmmsg that feeds it (the kernel delivers the
// packets during that send). It must not allocate once the streams are
// bound.
func BenchmarkReceiveBatch(b *testing.B) {
	e, err := newEngine("bench", loopback, 1, false)
	if err != nil {
		b.Fatal(err)
	}
	defer e.closeSockets()
	src, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	_ = src.SetWriteBuffer(sockBufSize)
	from := src.LocalAddr().(*net.UDPAddr).AddrPort()
	dst := net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, uint16(e.socks[0].port)))
	const n = recvBatch
	msgs := make([]ipv4.Message, n)
	bufs := make([][]byte, n)
	tone := tonePayload(ptPCMU)
	for i := range msgs {
		if err := e.newLeg(false).start(from, ptPCMU); err != nil {
			b.Fatal(err)
		}
		bufs[i] = make([]byte, packetSize)
		copy(bufs[i][rtpHeaderLen:], tone)
		msgs[i].Buffers = bufs[i : i+1]
		msgs[i].Addr = dst
	}
	pc := ipv4.NewPacketConn(src)
	s := e.socks[0]
	seq := uint16(0)
	round := func() {
		seq++
		for i := range bufs {
			putRTPHeader(bufs[i], false, ptPCMU, seq, uint32(seq)*packetSamples, uint32(i+1))
		}
		for sent := 0; sent < n; {
			k, err := pc.WriteBatch(msgs[sent:], 0)
			if err != nil {
				b.Fatal(err)
			}
			sent += k
		}
		before := e.rxPackets.Load() + e.unmatched.Load()
		for e.rxPackets.Load()+e.unmatched.Load()-before < n {
			if err := e.receiveOnce(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	round() // bind the SSRCs
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		round()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/packet")
	if u := e.unmatched.Load(); u > 0 {
		b.Fatalf("%d packets matched no leg", u)
	}
}
