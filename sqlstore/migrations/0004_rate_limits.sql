-- Counters of the shared limiter (Store.Limiter): one row per key and
-- fixed window, so every instance of a fleet counts into the same rows.
-- Conventions as in 0001.

CREATE TABLE rate_limits (
	-- The window length in microseconds, ':' and the limiter's key (a
	-- client network, a credential ID, a principal), or a hash of that
	-- key when it is too long or not storable as text.
	key          TEXT {{bin}} NOT NULL,
	-- Start of the window (a multiple of its length since the epoch) and
	-- its end: rows whose end has passed are swept in bounded batches.
	window_start BIGINT NOT NULL,
	window_end   BIGINT NOT NULL,
	n            BIGINT NOT NULL,
	PRIMARY KEY (key, window_start)
);

CREATE INDEX rate_limits_by_end ON rate_limits (window_end);
