// Package journal is the durable store of obzvon over Badger: call detail
// records, appeals, accounts, the insured registry, catalogs and audit.
// It is the only package that imports Badger.
package journal
