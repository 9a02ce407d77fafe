package media

import (
	"errors"
	"fmt"
	"testing"
)

func bindOK(int) error { return nil }

func TestPortAllocatorRange(t *testing.T) {
	tests := []struct {
		min, max int
		want     []int // all ports handed out, in order
		wantErr  bool
	}{
		{10000, 10007, []int{10000, 10002, 10004, 10006}, false},
		{10001, 10007, []int{10002, 10004, 10006}, false},
		{10000, 10006, []int{10000, 10002, 10004}, false}, // 10006 has no 10007
		{10001, 10002, nil, true},
		{0, 10, nil, true},
		{20000, 10000, nil, true},
		{65534, 65536, nil, true},
	}
	for _, tt := range tests {
		a, err := newPortAllocator(tt.min, tt.max)
		if (err != nil) != tt.wantErr {
			t.Errorf("newPortAllocator(%d, %d) error = %v, wantErr %v", tt.min, tt.max, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		var got []int
		for {
			p, err := a.alloc(bindOK)
			if err != nil {
				if !errors.Is(err, ErrNoPorts) {
					t.Errorf("alloc error = %v, want ErrNoPorts", err)
				}
				break
			}
			got = append(got, p)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("range %d-%d handed out %v, want %v", tt.min, tt.max, got, tt.want)
		}
	}
}

func TestPortAllocatorWrapAround(t *testing.T) {
	a, err := newPortAllocator(20000, 20007) // pairs 20000, 20002, 20004, 20006
	if err != nil {
		t.Fatal(err)
	}
	var ports []int
	for range 3 {
		p, err := a.alloc(bindOK)
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	a.release(ports[0]) // 20000 free, cursor at 20006
	p, _ := a.alloc(bindOK)
	if p != 20006 {
		t.Errorf("alloc after release = %d, want 20006 (the cursor goes on before it wraps)", p)
	}
	p, _ = a.alloc(bindOK)
	if p != 20000 {
		t.Errorf("alloc at end of range = %d, want 20000 (wrapped)", p)
	}
	if _, err := a.alloc(bindOK); !errors.Is(err, ErrNoPorts) {
		t.Errorf("alloc on a full range = %v, want ErrNoPorts", err)
	}
	a.release(20004)
	a.release(20004) // double release is harmless
	a.release(20005) // odd: ignored
	a.release(1)     // outside: ignored
	if p, err := a.alloc(bindOK); p != 20004 || err != nil {
		t.Errorf("alloc after releasing 20004 = %d, %v; want 20004", p, err)
	}
}

func TestPortAllocatorSkipsBindFailures(t *testing.T) {
	a, err := newPortAllocator(30000, 30007)
	if err != nil {
		t.Fatal(err)
	}
	busy := map[int]bool{30000: true, 30004: true}
	bind := func(p int) error {
		if busy[p] {
			return fmt.Errorf("bind %d: address already in use", p)
		}
		return nil
	}
	var got []int
	for {
		p, err := a.alloc(bind)
		if err != nil {
			if !errors.Is(err, ErrNoPorts) {
				t.Fatalf("alloc error = %v, want ErrNoPorts", err)
			}
			break
		}
		got = append(got, p)
	}
	if want := "[30002 30006]"; fmt.Sprint(got) != want {
		t.Errorf("alloc with 30000 and 30004 busy handed out %v, want %s", got, want)
	}
	// Once the other process lets go, the cursor wraps and finds them.
	busy = nil
	a.release(30002)
	p, err := a.alloc(bind)
	if err != nil || p != 30000 {
		t.Errorf("alloc after the busy ports freed = %d, %v; want 30000", p, err)
	}
}
