//go:build linux

// Package lossyfs is a FUSE file system for power-loss tests, in the
// manner of LazyFS: it passes everything through to a backing directory
// except file data, which it keeps in memory until the file is fsynced
// (fsync, fdatasync, msync). Cut then drops every byte not yet synced,
// as a power cut drops the page cache, and what is left in the backing
// directory is what a disk would hold after the power came back.
//
// The model: data written by write(2) or through a shared mapping
// reaches the backing file only on fsync of that file; metadata (create,
// rename, unlink, truncate, mkdir) is applied to the backing directory at
// once, as a journaling file system commits it, so the model is strict
// about data and lenient about metadata. The kernel's own page cache
// sits above the mount: pages it has not written back yet are handed to
// lossyfs at unmount and dropped with the rest.
//
// Mounting needs root (it calls mount(2) directly, no fusermount) and
// /dev/fuse.
package lossyfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// page is the unit in which unsynced data is kept.
const page = 4096

// FS is a mounted lossy file system.
type FS struct {
	backing, mnt string
	srv          *fuse.Server

	mu    sync.Mutex
	files map[uint64]*volatile // by backing inode number
	cut   bool
	stats Stats
}

// Stats count what the file system saw.
type Stats struct {
	// Writes and Fsyncs count the write and fsync requests; SyncedBytes
	// is what fsync wrote to the backing files.
	Writes, Fsyncs, SyncedBytes int64
	// DroppedBytes is the unsynced data Cut threw away.
	DroppedBytes int64
}

// volatile is the unsynced state of one file: pages written since its
// last fsync, and its size as writers see it.
type volatile struct {
	pages map[int64][]byte
	size  int64
}

// Mount mounts a lossy view of backing at mnt (both existing
// directories).
func Mount(backing, mnt string) (*FS, error) {
	f := &FS{backing: backing, mnt: mnt, files: map[uint64]*volatile{}}
	root := &fs.LoopbackRoot{Path: backing}
	var st syscall.Stat_t
	if err := syscall.Stat(backing, &st); err != nil {
		return nil, fmt.Errorf("lossyfs: %w", err)
	}
	root.Dev = uint64(st.Dev)
	// NewNode is deprecated for NodeWrapChilder, but it is the one hook
	// that makes every node of a loopback tree ours, root included.
	//lint:ignore SA1019 see above
	root.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, _ *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, fs: f}
	}
	rootNode := root.NewNode(root, nil, "", &st) //lint:ignore SA1019 see above
	root.RootNode = rootNode
	srv, err := fs.Mount(mnt, rootNode, &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName: "lossyfs", Name: "lossyfs",
			DirectMountStrict: true,
			// One request at a time in the kernel's order keeps the model
			// simple; the tests are not about speed.
			SingleThreaded: true,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("lossyfs: mount %s: %w", mnt, err)
	}
	f.srv = srv
	return f, nil
}

// Cut simulates a power cut: it unmounts the file system (the kernel
// hands over the pages it still held) and drops every byte that was not
// fsynced. Processes using the mount must be dead (SIGKILL them first):
// a busy mount cannot be unmounted. Cut is idempotent.
func (f *FS) Cut() error {
	f.mu.Lock()
	if f.cut {
		f.mu.Unlock()
		return nil
	}
	f.mu.Unlock()
	err := f.srv.Unmount()
	f.srv.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = true
	for _, v := range f.files {
		f.stats.DroppedBytes += int64(len(v.pages)) * page
	}
	f.files = nil
	if err != nil {
		return fmt.Errorf("lossyfs: unmount %s: %w", f.mnt, err)
	}
	return nil
}

// Stats returns the counters so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// get returns the volatile state of the file open as fd (backing inode
// ino), creating it from the backing file's size.
func (f *FS) get(ino uint64, fd int) (*volatile, error) {
	if v := f.files[ino]; v != nil {
		return v, nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, err
	}
	v := &volatile{pages: map[int64][]byte{}, size: st.Size}
	f.files[ino] = v
	return v, nil
}

// size reports the size writers see of backing inode ino, if it has
// unsynced state.
func (f *FS) size(ino uint64) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v := f.files[ino]; v != nil {
		return v.size, true
	}
	return 0, false
}

// readPage returns page p of the file: unsynced data, else the backing
// file's bytes (zeros past its end).
func readPage(v *volatile, fd int, p int64) ([]byte, error) {
	if b := v.pages[p]; b != nil {
		return b, nil
	}
	b := make([]byte, page)
	n, err := syscall.Pread(fd, b, p*page)
	if err != nil {
		return nil, err
	}
	clear(b[max(n, 0):])
	return b, nil
}

// node is a loopback node whose files keep unsynced data in memory.
type node struct {
	fs.LoopbackNode
	fs *FS
}

var (
	_ fs.NodeOpener    = (*node)(nil)
	_ fs.NodeCreater   = (*node)(nil)
	_ fs.NodeGetattrer = (*node)(nil)
	_ fs.NodeSetattrer = (*node)(nil)
	_ fs.NodeUnlinker  = (*node)(nil)
)

func (n *node) path() string {
	return n.RootData.Path + "/" + n.Path(n.Root())
}

func (n *node) wrap(fh fs.FileHandle) (fs.FileHandle, syscall.Errno) {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return nil, syscall.ENOTSUP
	}
	fd, ok := lf.PassthroughFd()
	if !ok {
		return nil, syscall.ENOTSUP
	}
	// A read-write descriptor of our own: unsynced pages are read back
	// (read-modify-write) even through a handle opened write-only.
	rw, err := syscall.Open(fmt.Sprintf("/proc/self/fd/%d", fd), syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fs.ToErrno(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(rw, &st); err != nil {
		syscall.Close(rw)
		return nil, fs.ToErrno(err)
	}
	return &file{lf: lf, fd: rw, ino: st.Ino, fs: n.fs}, 0
}

// Open opens the backing file and wraps it.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	w, errno := n.wrap(fh)
	if errno != 0 {
		fh.(fs.FileReleaser).Release(ctx)
		return nil, 0, errno
	}
	return w, fl, 0
}

// Create creates the backing file (metadata is durable at once) and
// wraps it.
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	in, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	w, errno := n.wrap(fh)
	if errno != 0 {
		fh.(fs.FileReleaser).Release(ctx)
		return nil, nil, 0, errno
	}
	return in, w, fl, 0
}

// Tmpfile is refused: its data could not be told apart after a link.
func (n *node) Tmpfile(context.Context, uint32, uint32, *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.ENOTSUP
}

// Getattr reports the size writers see.
func (n *node) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if f, ok := fh.(*file); ok {
		return f.Getattr(ctx, out)
	}
	if errno := n.LoopbackNode.Getattr(ctx, nil, out); errno != 0 {
		return errno
	}
	if sz, ok := n.fs.size(out.Ino); ok {
		out.Size = uint64(sz)
	}
	return 0
}

// Statx is left to Getattr (the kernel falls back to it).
func (n *node) Statx(context.Context, fs.FileHandle, uint32, uint32, *fuse.StatxOut) syscall.Errno {
	return syscall.ENOSYS
}

// Setattr applies a size change to the file's unsynced state too.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if f, ok := fh.(*file); ok {
		return f.Setattr(ctx, in, out)
	}
	if sz, ok := in.GetSize(); ok {
		// Without a handle: open the backing file to truncate both.
		fd, err := syscall.Open(n.path(), syscall.O_RDWR, 0)
		if err != nil {
			return fs.ToErrno(err)
		}
		f := &file{fd: fd, fs: n.fs}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err == nil {
			f.ino = st.Ino
		}
		errno := f.truncate(int64(sz))
		syscall.Close(fd)
		if errno != 0 {
			return errno
		}
	}
	in2 := *in
	in2.Valid &^= fuse.FATTR_SIZE
	if errno := n.LoopbackNode.Setattr(ctx, nil, &in2, out); errno != 0 {
		return errno
	}
	return n.Getattr(ctx, nil, out)
}

// Unlink forgets the unsynced data of a removed file.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Lstat(n.path()+"/"+name, &st); err == nil && st.Nlink <= 1 {
		n.fs.mu.Lock()
		if n.fs.files != nil {
			delete(n.fs.files, st.Ino)
		}
		n.fs.mu.Unlock()
	}
	return n.LoopbackNode.Unlink(ctx, name)
}

// file is an open file whose writes stay in memory until fsync.
type file struct {
	lf  *fs.LoopbackFile // the kernel's handle; nil for a handle-less truncate
	fd  int              // read-write descriptor of the backing file
	ino uint64
	fs  *FS
}

var (
	_ fs.FileReader    = (*file)(nil)
	_ fs.FileWriter    = (*file)(nil)
	_ fs.FileFsyncer   = (*file)(nil)
	_ fs.FileFlusher   = (*file)(nil)
	_ fs.FileReleaser  = (*file)(nil)
	_ fs.FileGetattrer = (*file)(nil)
	_ fs.FileSetattrer = (*file)(nil)
	_ fs.FileGetlker   = (*file)(nil)
	_ fs.FileSetlker   = (*file)(nil)
	_ fs.FileSetlkwer  = (*file)(nil)
)

func (f *file) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.files == nil {
		return nil, syscall.EIO
	}
	v := f.fs.files[f.ino]
	if v == nil {
		n, err := syscall.Pread(f.fd, buf, off)
		if err != nil {
			return nil, fs.ToErrno(err)
		}
		return fuse.ReadResultData(buf[:n]), 0
	}
	if off >= v.size {
		return fuse.ReadResultData(nil), 0
	}
	n := min(int64(len(buf)), v.size-off)
	for done := int64(0); done < n; {
		p, in := (off+done)/page, (off+done)%page
		b, err := readPage(v, f.fd, p)
		if err != nil {
			return nil, fs.ToErrno(err)
		}
		done += int64(copy(buf[done:n], b[in:]))
	}
	return fuse.ReadResultData(buf[:n]), 0
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.files == nil {
		return 0, syscall.EIO
	}
	f.fs.stats.Writes++
	v, err := f.fs.get(f.ino, f.fd)
	if err != nil {
		return 0, fs.ToErrno(err)
	}
	for done := 0; done < len(data); {
		p, in := (off+int64(done))/page, (off+int64(done))%page
		b, err := readPage(v, f.fd, p)
		if err != nil {
			return 0, fs.ToErrno(err)
		}
		if v.pages[p] == nil {
			v.pages[p] = b
		}
		done += copy(b[in:], data[done:])
	}
	v.size = max(v.size, off+int64(len(data)))
	return uint32(len(data)), 0
}

// Fsync writes the file's unsynced pages to the backing file and syncs
// it: from now on they survive Cut.
func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.files == nil {
		return syscall.EIO
	}
	f.fs.stats.Fsyncs++
	if v := f.fs.files[f.ino]; v != nil {
		for p, b := range v.pages {
			end := min(int64(page), v.size-p*page)
			if end <= 0 {
				continue
			}
			if _, err := syscall.Pwrite(f.fd, b[:end], p*page); err != nil {
				return fs.ToErrno(err)
			}
			f.fs.stats.SyncedBytes += end
		}
		if err := syscall.Ftruncate(f.fd, v.size); err != nil {
			return fs.ToErrno(err)
		}
		delete(f.fs.files, f.ino)
	}
	return fs.ToErrno(syscall.Fsync(f.fd))
}

// Flush (close) does not sync, as on a real file system.
func (f *file) Flush(ctx context.Context) syscall.Errno { return 0 }

func (f *file) Release(ctx context.Context) syscall.Errno {
	if f.lf == nil {
		return 0
	}
	syscall.Close(f.fd)
	return f.lf.Release(ctx)
}

func (f *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	var st syscall.Stat_t
	if err := syscall.Fstat(f.fd, &st); err != nil {
		return fs.ToErrno(err)
	}
	out.FromStat(&st)
	if sz, ok := f.fs.size(f.ino); ok {
		out.Size = uint64(sz)
	}
	return 0
}

func (f *file) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok {
		if errno := f.truncate(int64(sz)); errno != 0 {
			return errno
		}
	}
	in2 := *in
	in2.Valid &^= fuse.FATTR_SIZE
	if in2.Valid != 0 {
		if errno := f.lf.Setattr(ctx, &in2, out); errno != 0 {
			return errno
		}
	}
	return f.Getattr(ctx, out)
}

// truncate changes the size at once (metadata) and cuts the unsynced
// pages past it.
func (f *file) truncate(sz int64) syscall.Errno {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.files == nil {
		return syscall.EIO
	}
	if err := syscall.Ftruncate(f.fd, sz); err != nil {
		return fs.ToErrno(err)
	}
	if v := f.fs.files[f.ino]; v != nil {
		for p, b := range v.pages {
			switch {
			case p*page >= sz:
				delete(v.pages, p)
			case (p+1)*page > sz:
				clear(b[sz-p*page:])
			}
		}
		v.size = sz
	}
	return 0
}

func (f *file) Getlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32, out *fuse.FileLock) syscall.Errno {
	return f.lf.Getlk(ctx, owner, lk, flags, out)
}

func (f *file) Setlk(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return f.lf.Setlk(ctx, owner, lk, flags)
}

func (f *file) Setlkw(ctx context.Context, owner uint64, lk *fuse.FileLock, flags uint32) syscall.Errno {
	return f.lf.Setlkw(ctx, owner, lk, flags)
}

// Available reports whether this process can mount FUSE file systems
// (root and /dev/fuse), and why not.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("lossyfs needs root to mount (mount(2) without fusermount)")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("lossyfs needs /dev/fuse: %w", err)
	}
	return nil
}
