-- Blob objects waiting to be erased from the store (local folder or S3 bucket). A blob's
-- row is deleted and its object key queued here in the same transaction (the plugin
-- call's): a rolled-back call queues nothing, a committed one always leaves its key. The
-- sweep (`BlobStore::sweep_erasures`) deletes the object, then the row; an object already
-- gone counts as erased, so a crash between the two never loops.
CREATE TABLE blob_erasures (
    -- `{structure}/{plugin}/{blob id}`, as the store names the object.
    object_key TEXT PRIMARY KEY,
    queued_at BIGINT NOT NULL,
    -- Failed deletions so far, and the last one's error.
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);
