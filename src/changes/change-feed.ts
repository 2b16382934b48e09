/**
 * The change feed: every committed change to a claim, for live views (GET /v1/events).
 * Changes are published after their transaction commits, never for a write that rolled
 * back; in one process through an in-memory emitter, across instances through PostgreSQL
 * (postgres-change-feed.ts).
 */
import type { ClaimRecord } from '../claims/claim-record';
import type { ClaimStore, ClaimStoreTx } from '../claims/claim-store';
import { ownersOf } from '../domain/access';

/** One committed change: what a subscriber is told, and the owners its access is checked against. */
export interface ClaimChange {
  id: string;
  status: string;
  substatus: string | null;
  version: number;
  /** When the claim changed (its updatedAt). */
  at: string;
  owners: { partnerId?: string; tenantId?: string };
}

export interface ChangeSubscriber {
  change(change: ClaimChange): void;
  /** The feed closed (the service stops): end the stream. */
  end(): void;
}

export interface ChangeFeed {
  /** Tells every subscriber (of every instance sharing the feed) about committed changes. */
  publish(changes: readonly ClaimChange[]): void;
  subscribe(subscriber: ChangeSubscriber): () => void;
  /** Ends every subscription and releases the feed's connections. */
  close(): Promise<void>;
}

function changeOf(claim: ClaimRecord): ClaimChange {
  const { partnerId, tenantId } = ownersOf(claim.snapshot.context.fields);
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    id: claim.id,
    status: claim.status,
    substatus: claim.substatus,
    version: claim.version,
    at: claim.updatedAt,
    owners: {
      ...(text(partnerId) !== undefined ? { partnerId: text(partnerId) } : {}),
      ...(text(tenantId) !== undefined ? { tenantId: text(tenantId) } : {}),
    },
  };
}

/** Subscribers of one process; `deliver` hands a change to each (a subscriber that throws does not stop the others). */
export function createSubscribers(onError: (error: unknown) => void = () => {}) {
  const subscribers = new Set<ChangeSubscriber>();
  return {
    add(subscriber: ChangeSubscriber): () => void {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },
    deliver(change: ClaimChange): void {
      for (const subscriber of [...subscribers]) {
        try {
          subscriber.change(change);
        } catch (error) {
          onError(error);
        }
      }
    },
    endAll(): void {
      for (const subscriber of [...subscribers]) subscriber.end();
      subscribers.clear();
    },
  };
}

/** The feed of one process (SQLite, tests): changes go straight to this process's subscribers. */
export function createLocalChangeFeed(): ChangeFeed {
  const subscribers = createSubscribers();
  return {
    publish(changes) {
      for (const change of changes) subscribers.deliver(change);
    },
    subscribe: (subscriber) => subscribers.add(subscriber),
    async close() {
      subscribers.endAll();
    },
  };
}

/**
 * `store`, publishing to `feed` the claims each transaction inserted or updated, once the
 * transaction has committed: a transaction that throws (rolled back) publishes nothing.
 */
export function notifyingStore<S extends ClaimStore>(store: S, feed: ChangeFeed): S {
  return {
    ...store,
    async transaction<T>(fn: (tx: ClaimStoreTx) => Promise<T>): Promise<T> {
      const written = new Map<string, ClaimRecord>();
      const result = await store.transaction((tx) =>
        fn({
          ...tx,
          async insertClaim(claim) {
            await tx.insertClaim(claim);
            written.set(claim.id, claim);
          },
          async updateClaim(claim, expectedVersion) {
            await tx.updateClaim(claim, expectedVersion);
            written.set(claim.id, claim);
          },
        }),
      );
      if (written.size > 0) feed.publish([...written.values()].map(changeOf));
      return result;
    },
  };
}
