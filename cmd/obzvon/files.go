package main

import (
	"bufio"
	"io"
	"os"
)

// writeFileAtomic writes path through write into path.partial, synced,
// and renames that over path: a write that fails or is cut off leaves no
// partial file under path, and whatever was there before as it was. The
// error of a file that cannot be made names it without Go's operation.
func writeFileAtomic(path string, mode os.FileMode, write func(w io.Writer) error) error {
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return plainPathError(err)
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = plainPathError(os.Rename(tmp, path))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// bytesOf is a writeFileAtomic write of b.
func bytesOf(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
}
