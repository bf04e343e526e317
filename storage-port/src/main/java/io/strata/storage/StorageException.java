package io.strata.storage;

/** A write that storage refused, and so did not commit. */
public abstract sealed class StorageException extends RuntimeException
        permits StorageException.PreconditionFailed, StorageException.NotFound, StorageException.Conflict {

    protected StorageException(String message) {
        super(message, null, false, false);
    }

    /** A precondition did not hold for the current version. */
    public static final class PreconditionFailed extends StorageException {
        public PreconditionFailed() {
            super("precondition failed");
        }
    }

    /** The document to update or delete does not exist. */
    public static final class NotFound extends StorageException {
        public NotFound() {
            super("document not found");
        }
    }

    /** The document kept changing while a change computed from it was being written. */
    public static final class Conflict extends StorageException {
        public Conflict() {
            super("the document changed concurrently");
        }
    }
}
