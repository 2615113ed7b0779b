// Command ferretdb-local runs FerretDB (MongoDB wire protocol) with SQLite storage
// for the check-in monitor's local stack.
//
// FerretDB's own cmd/ferretdb refuses to start when built with `go install`
// (it expects generated version files), so we embed its library package instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// walLimitBytes: what a rewound write-ahead log keeps on disk at most.
const walLimitBytes = 16 << 20

// writerWait: how long a write of FerretDB's waits for the database's lock before it fails with
// SQLITE_BUSY (FerretDB's default: 10 s). An update or replace holds the snapshot of the query
// that found its document (an open read) while it waits for the lock, so a truncating
// checkpoint, which holds the lock and waits for every older read to end, and that write wait
// for each other until one gives up (checkpoint.go). The write gives up first, after this, and
// is retried by its client with a fresh snapshot; writers otherwise wait milliseconds for each
// other, so 3 s is ample for them.
const writerWait = 3 * time.Second

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data-dir", "data", "directory for the SQLite database files")
	debug := flag.Bool("debug", false, "log at debug level")
	checkpointEvery := flag.Duration("checkpoint-every", time.Second,
		"how often to look at each database's write-ahead log")
	checkpointAbove := flag.Int64("checkpoint-above", 16<<20,
		"checkpoint and truncate a write-ahead log grown past this many bytes")
	flag.Parse()

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if err := run(*listen, *dataDir, *checkpointEvery, *checkpointAbove, logger); err != nil {
		logger.Error("ferretdb-local failed", "error", err)
		os.Exit(1)
	}
}

func run(listen, dataDir string, checkpointEvery time.Duration, checkpointAbove int64,
	logger *slog.Logger) error {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: listen},
		Logger:   logger,
		Handler:  "sqlite",
		// journal_size_limit: when a connection of FerretDB's rewinds the write-ahead log, it
		// cuts the file back to this size (else it keeps its largest size forever); see
		// checkpoint.go for why the log is not rewound often enough on its own.
		SQLiteURL: "file:" + abs + "/?_pragma=busy_timeout(" + strconv.Itoa(int(writerWait.Milliseconds())) +
			")&_pragma=journal_size_limit(" + strconv.Itoa(walLimitBytes) + ")",
	})
	if err != nil {
		return fmt.Errorf("starting FerretDB: %w", err)
	}

	// SIGTERM/SIGINT cancel the context; Run then closes listeners and the SQLite backend cleanly.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	go watchIDIndexes(ctx, abs, 500*time.Millisecond, logger)
	go checkpointWALs(ctx, abs, checkpointEvery, checkpointAbove, logger)

	logger.Info("ferretdb-local listening", "addr", listen, "data", abs)
	return f.Run(ctx)
}
