package server

// The wire trace (Config.Trace, pynet server -trace) shows a learner what
// TCP really does: reads do not line up with frames, and writes carry several
// frames at once. The formatting lives in internal/wiretrace; a connection
// gets a tracer only when Config.Trace is set, so tracing costs nothing when
// off (every hook is behind a nil check).
