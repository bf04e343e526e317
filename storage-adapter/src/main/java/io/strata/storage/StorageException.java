package io.strata.storage;

/** A write that storage refused, and so did not commit. */
public abstract sealed class StorageException extends RuntimeException
        permits StorageException.PreconditionFailed, StorageException.NotFound, StorageException.Rejected {

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

    /** The change function refused the current document (for example an invalid merge result). */
    public static final class Rejected extends StorageException {
        public Rejected(String message) {
            super(message);
        }
    }
}
