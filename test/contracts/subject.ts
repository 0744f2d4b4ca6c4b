/**
 * One fresh subject per test, cleaned up even when the test fails: a real
 * adapter's keys, streams and databases never outlive the test that made them.
 */
export function subjectRunner<S extends { cleanup(): Promise<void> }>(make: () => Promise<S>) {
  return (body: (subject: S) => Promise<void>) => async (): Promise<void> => {
    const subject = await make();
    try {
      await body(subject);
    } finally {
      await subject.cleanup();
    }
  };
}
