/**
 * Listeners of one source, called in turn: one that throws does not keep the value from the others
 * (nor break the reader that emits, such as a Redis connection's message handler).
 */
export interface Listeners<T> {
  /** Adds a listener of its own (one function added twice is two listeners); the result removes it, once. */
  add(listener: (value: T) => void): () => void;
  emit(value: T): void;
  readonly size: number;
}

export function createListeners<T>(): Listeners<T> {
  const set = new Set<(value: T) => void>();
  return {
    add(listener) {
      const own = (value: T) => listener(value);
      set.add(own);
      return () => set.delete(own);
    },
    emit(value) {
      for (const listener of set) {
        try {
          listener(value);
        } catch {
          // one faulty listener must not starve the others
        }
      }
    },
    get size() {
      return set.size;
    },
  };
}

/** Listeners grouped by a key (a topic, a room); a group is forgotten with its last listener. */
export interface KeyedListeners<T> {
  add(key: string, listener: (value: T) => void): () => void;
  emit(key: string, value: T): void;
}

export function createKeyedListeners<T>(): KeyedListeners<T> {
  const groups = new Map<string, Listeners<T>>();
  return {
    add(key, listener) {
      let group = groups.get(key);
      if (!group) groups.set(key, (group = createListeners()));
      const remove = group.add(listener);
      return () => {
        remove();
        if (group.size === 0 && groups.get(key) === group) groups.delete(key);
      };
    },
    emit(key, value) {
      groups.get(key)?.emit(value);
    },
  };
}
