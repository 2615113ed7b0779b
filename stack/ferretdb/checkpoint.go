package main

// Why a checkpointer: SQLite appends every commit to the database's write-ahead log (the
// `-wal` file) and copies it back into the database at a checkpoint. The automatic checkpoint
// is PASSIVE: it copies only what no open read still needs, and the log is rewound to its
// start only when a writer finds it fully copied and no reader in it. With the dashboard's
// live refresh, the consumers and the lag sampler some read is always in flight, so that
// moment never comes: the log grew to 8 GB beside a 600 MB database (issue 17) and shrank
// only at a clean shutdown. So once a log passes -checkpoint-above (16 MB), a TRUNCATE
// checkpoint holds new writers back, waits (busy timeout) for the reads of older snapshots to
// end, copies the rest and cuts the file to zero bytes. It runs after a PASSIVE one, which does
// the bulk of the copying without blocking anyone, and tells whether a read of an older
// snapshot is still in flight (softBusy, hardBusy: when writers wait, and how long).
// journal_size_limit (main.go) caps what a rewind by FerretDB's own connections leaves on disk
// when this one cannot truncate.

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// How long a TRUNCATE checkpoint waits for reads to finish; it holds writers back meanwhile.
// Below hardAboveBytes it is tried only when a PASSIVE checkpoint could copy the whole log (no
// read of an older snapshot in flight), and waits briefly: the soak showed the dashboard's
// reads outlasting any short wait, and each failed wait had stalled the consumers for nothing.
// Past hardAboveBytes the disk comes first: every tick it waits for the reads in flight. The
// oldest are often FerretDB's own updates, which keep their query's snapshot while they wait
// for the lock this checkpoint holds: they give up after writerWait (main.go) and their
// clients retry, so the first wait outlasts that (hardBusyFirst). Reads that outlast it double
// the next wait, up to hardBusy (the dashboard's queries stop after 20 s, maxTimeMS; twice over
// for the reads that start while the older ones finish).
const (
	softBusy       = 500 * time.Millisecond
	hardBusyFirst  = writerWait + 2*time.Second
	hardBusy       = 45 * time.Second
	hardAboveBytes = 32 << 20
)

// maxBackoff: after truncations that waited in vain a file waits twice as long each time, at most this.
const maxBackoff = 16 * time.Second

// walWarnBytes: a log still above this after a checkpoint is worth a line in the log.
const walWarnBytes = 64 << 20

// checkpointWALs looks at every database file's write-ahead log every `every` and checkpoints
// and truncates those grown past `above` bytes, until ctx is done. By size, not by the clock:
// the work follows what was written, and an idle database costs nothing.
func checkpointWALs(ctx context.Context, dataDir string, every time.Duration, above int64, logger *slog.Logger) {
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	backoff := map[string]time.Duration{}
	notBefore := map[string]time.Time{}
	hardWait := map[string]time.Duration{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		for _, file := range databaseFiles(dataDir) {
			size := walSize(file)
			hard := size > hardAboveBytes
			if size <= above || (!hard && time.Now().Before(notBefore[file])) {
				continue
			}
			wait := softBusy
			if hard {
				wait = max(hardWait[file], hardBusyFirst)
			}
			began := time.Now()
			busy, waited, err := checkpointDatabase(ctx, file, wait, hard)
			if hard { // writers were held back meanwhile: say for how long
				if busy || err != nil {
					hardWait[file] = min(2*wait, hardBusy)
				} else {
					delete(hardWait, file)
				}
				logger.Info("wal checkpoint past the hard limit", "file", filepath.Base(file),
					"wal_bytes_before", size, "wal_bytes_after", walSize(file), "truncated", !busy && err == nil,
					"waited_up_to", wait, "took", time.Since(began).Round(time.Millisecond))
			}
			if err != nil || (busy && waited) { // a skip made nobody wait: try again next tick
				backoff[file] = min(max(2*backoff[file], every), maxBackoff)
				notBefore[file] = time.Now().Add(backoff[file])
			} else {
				delete(backoff, file)
				delete(notBefore, file)
			}
			switch {
			case err != nil:
				logger.Debug("wal checkpoint: skipped", "file", filepath.Base(file), "error", err)
			case busy && walSize(file) > walWarnBytes:
				logger.Warn("wal checkpoint: readers kept the log from being truncated",
					"file", filepath.Base(file), "wal_bytes", walSize(file))
			}
		}
	}
}

func walSize(file string) int64 {
	st, err := os.Stat(file + "-wal")
	if err != nil {
		return 0
	}
	return st.Size()
}

// checkpointDatabase copies the log of one database file into it and truncates the log; busy
// is true when reads kept it from truncating (the log then stays as it is). Unless `hard`, it
// truncates only a log the PASSIVE pass copied whole. mode=rw: never create a file FerretDB
// has dropped.
func checkpointDatabase(ctx context.Context, file string, wait time.Duration, hard bool) (busy, waited bool, err error) {
	dsn := "file:" + file + "?mode=rw&_pragma=busy_timeout(" + strconv.Itoa(int(wait.Milliseconds())) + ")"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return false, false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	var blocked, logFrames, copied int
	for _, mode := range []string{"PASSIVE", "TRUNCATE"} {
		row := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")")
		if err := row.Scan(&blocked, &logFrames, &copied); err != nil {
			return false, mode == "TRUNCATE", err
		}
		if mode == "PASSIVE" && !hard && copied < logFrames {
			return true, false, nil // an older read still needs the log: make no writer wait
		}
	}
	return blocked != 0, true, nil
}
