// Package journal is the durable store of obzvon over Badger: call detail
// records, appeals and their workflow, accounts, the insured registry,
// catalogs and the audit log, with backup and restore. It is the only
// package that imports Badger; it knows no SIP and no HTTP.
//
// # Records and indexes
//
// Every record is JSON with its schema version in "v", under
// r/<kind>/<id>. Secondary indexes are keys i/<index>/<parts…> whose value
// is the record's key; a record computes its own index keys, and save
// writes the record, deletes the keys of the version it replaces and sets
// the new ones in one transaction, so records and indexes never disagree.
// CheckIndexes verifies that on a live journal (the SIGKILL and property
// tests use it). Appeal numbers (2026-000123) come from one Badger
// sequence per year, leased 100 at a time: unique and increasing, with
// gaps after a crash. Schema migrations (migrate.go) run on Open; a
// directory written by a newer binary is refused.
//
// # Durability
//
// DefaultOptions syncs every commit. Badger syncs once per transaction,
// so update funnels concurrent transactions through one committer that
// runs all waiting ones in a single Badger transaction (one fsync) and
// falls back to one transaction each if the group fails (commit.go). A
// caller whose update returned nil has its write on disk; TestSIGKILL…
// kills a writing child process at random and checks every acknowledged
// write and every index after reopening. Registry loads write through a
// few large transactions and sync once at the end; a person's record and
// its index keys always share a transaction (loadwriter.go), so a load
// killed at any moment leaves whole persons only, and running it again
// completes it (loads are idempotent). CheckIndexes and RepairIndexes
// (obzvon journal check [--repair]) find and fix disagreements left by
// older versions or by bugs.
//
// Reads of personal data are audited durably: the audit entry is
// committed (and synced) before the data is returned, sharing the group
// commit with concurrent writes; a read whose entry cannot be written
// fails, and a read-only journal refuses such reads (see auditRead).
// Changes are audited in the transaction that makes them.
//
// # Encryption at rest and key rotation
//
// Options.EncryptionKeyFile names a 16-, 24- or 32-byte AES key (raw or
// hex), e.g. a systemd credential:
//
//	LoadCredential=journal.key:/etc/obzvon/journal.key
//	# obzvon.toml, section [data]: encryption_key_file = "${CREDENTIALS_DIRECTORY}/journal.key"
//
// Badger encrypts data with data keys (rotated every 10 days) that are
// themselves encrypted with this master key in the KEYREGISTRY file. To
// rotate the master key: stop the daemon; run
//
//	obzvon journal rotate-key --dir /var/lib/obzvon/journal \
//	    --old-key-file /etc/obzvon/journal.key --new-key-file /etc/obzvon/journal.key.new
//
// which re-encrypts only the registry of data keys (RotateKey); move the
// new key into place and start the daemon. Keep the old key until the
// first backup made after rotation has been verified. Encryption cannot
// be turned on for an existing plain journal in place: back it up and
// restore it into an empty directory with the key set.
//
// # Backup, restore, garbage collection
//
// Backup streams a consistent snapshot of the open journal (online);
// Restore loads one into an empty directory and runs migrations. Backups
// are not encrypted: store them like the journal. Open starts Badger's
// value-log GC on a schedule (Options.GCInterval); Stats reports the
// group-commit counters and the LSM and value-log sizes for metrics.
//
// # Access and audit
//
// Allowed(role, action, resource) is the single access table the API
// checks; CanSeeAppeal scopes appeals per role. Methods that read or change
// personal data or appeals take the Actor doing it, check the role, and
// write an AuditEntry (account, time, operation, subject, the person's
// ENP); Audit queries the log by account, person or subject and is for
// administrators only. Log lines at info level never carry names, phones,
// policy numbers or dates of birth.
package journal
