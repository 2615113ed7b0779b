package main

// FerretDB 1.24's SQLite backend looks documents up by `_id` with
// `WHERE _ferretdb_sjson->'$._id' = ?`, but its unique index is on
// `_ferretdb_sjson->"_id"`: SQLite only uses an expression index for the same
// expression, so every find, update and delete by `_id` scanned the whole table
// (a technicians/orders update cost O(collection)). This watcher adds an index on
// the exact expression FerretDB queries with, to every collection table, shortly
// after FerretDB creates it. FerretDB does not know about the index (it is not in
// listIndexes) and a dropped collection drops it with its table.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses, so both share SQLite's lock state
)

const idIndexSuffix = "__id_lookup"

// watchIDIndexes indexes every collection table in dataDir now and whenever a
// database file changes, until ctx is done.
func watchIDIndexes(ctx context.Context, dataDir string, every time.Duration, logger *slog.Logger) {
	seen := map[string]time.Time{}
	ticker := time.NewTicker(every)
	defer ticker.Stop()

	for {
		for _, file := range databaseFiles(dataDir) {
			changed := lastChange(file)
			if !changed.After(seen[file]) {
				continue
			}
			created, err := indexDatabase(ctx, file)
			if err != nil {
				// The file may have been dropped meanwhile; the next change retries.
				logger.Debug("id index: skipped", "file", filepath.Base(file), "error", err)
				continue
			}
			for _, table := range created {
				logger.Info("id index: created", "file", filepath.Base(file), "table", table)
			}
			seen[file] = changed
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// databaseFiles lists FerretDB's SQLite files in dataDir, one per MongoDB database.
func databaseFiles(dataDir string) []string {
	files, _ := filepath.Glob(filepath.Join(dataDir, "*.sqlite"))
	return files
}

// lastChange is the newer of the database file's and its write-ahead log's mtime.
func lastChange(file string) time.Time {
	var newest time.Time
	for _, f := range []string{file, file + "-wal"} {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(newest) {
			newest = st.ModTime()
		}
	}
	return newest
}

// indexDatabase creates the missing `_id` lookup indexes of one database file and
// returns the tables it indexed. mode=rw: never create a file FerretDB has dropped.
func indexDatabase(ctx context.Context, file string) ([]string, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, `
		SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (
			SELECT 1 FROM sqlite_master m
			WHERE m.type = 'index' AND m.name = c.table_name || ?)
		AND EXISTS (
			SELECT 1 FROM sqlite_master t WHERE t.type = 'table' AND t.name = c.table_name)`,
		idIndexSuffix)
	if err != nil {
		return nil, err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, table)
	}
	rows.Close()

	var created []string
	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`,
			table+idIndexSuffix, table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return created, fmt.Errorf("%s: %w", table, err)
		}
		created = append(created, table)
	}
	return created, nil
}
