/**
 * `build`, remembering its results for the few thousand most recent arguments (the memory starts over when
 * full). For values rebuilt on almost every record from a handful of inputs: state keys of keys, principals
 * and buckets (the same key string is hashed once), ledger day names.
 */
export const memoized = <A, R>(build: (argument: A) => R, capacity = 4_096): ((argument: A) => R) => {
  let memo = new Map<A, R>();
  return (argument) => {
    let result = memo.get(argument);
    if (result === undefined) {
      if (memo.size >= capacity) memo = new Map();
      result = build(argument);
      memo.set(argument, result);
    }
    return result;
  };
};
