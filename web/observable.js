// observable.js -- the one subscription primitive the dashboard's modules share.
//
// A Topic delivers each emitted value to its subscribers; a Value also remembers the
// latest value and hands it to a new subscriber at once, so late views start in sync.
// subscribe(fn) returns the function that unsubscribes.

export class Topic {
  #subscribers = new Set();

  subscribe(fn) {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  emit(value) {
    // One broken view must not stop the others, nor the producer that emits.
    for (const fn of [...this.#subscribers]) {
      try {
        fn(value);
      } catch (err) {
        console.error(err);
      }
    }
  }
}

export class Value extends Topic {
  #value;

  constructor(initial) {
    super();
    this.#value = initial;
  }

  get() {
    return this.#value;
  }

  set(value) {
    this.#value = value;
    this.emit(value);
  }

  subscribe(fn) {
    const unsubscribe = super.subscribe(fn);
    fn(this.#value);
    return unsubscribe;
  }
}
