"""Classic chapter 9 mistakes: the pool, the poller, the header clock, shutting down, uploads at once.

Left out: chapter 5's make_folders (`if not folder.exists(): folder.mkdir()`), which fails when two
uploads create the same folder at the same moment. test_concurrent_uploads_into_new_folders_all_succeed
asks for exactly that, but under the GIL the window between the check and the mkdir is a few
microseconds: measured, 8 to 16 uploads at once catch it in a few rounds out of a hundred, not
reliably enough for a mutant that must always lose points.
"""

from . import Mutant

CHAPTER = "ch09_threading"

TO_THE_WORKERS = "            self.forget(client)\n            self.ready.put(client)\n"
BACK_TO_THE_POLLER = "            if not self.has_complete_head(client):\n                break\n"
HEADER_CLOCK = """        if not client.buffer:
            # The first byte of a head starts its clock: the whole head must follow in time.
            client.deadline = time.monotonic() + self.settings.header_timeout
"""
SEND_408 = (
    '                self.send_and_close(client, Response(408, [("Content-Type", "text/plain; charset=utf-8")], '
    'b"The request head took too long to arrive."))\n'
)
STOP_ACCEPTING = "        self.stopping.set()\n        self.listener.close()\n"
TEMPORARY_FILE = '    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")\n'

MUTANTS = [
    # -- 9.1 A bounded pool of workers -----------------------------------------------------------
    Mutant(
        CHAPTER,
        "serves_in_the_poller",
        "serves each request in the poller's own thread, so one slow request holds up everyone",
        "pool.py",
        TO_THE_WORKERS,
        "            self.forget(client)\n            self.serve(client)  # no worker: one request at a time\n",
    ),
    Mutant(
        CHAPTER,
        "one_worker",
        "starts a single worker whatever --workers says",
        "pool.py",
        "        for number in range(self.settings.workers):\n",
        "        for number in range(1):\n",
    ),
    Mutant(
        CHAPTER,
        "thread_per_request",
        "starts a new thread for every request, so --workers bounds nothing",
        "pool.py",
        TO_THE_WORKERS,
        "            self.forget(client)\n            threading.Thread(target=self.serve, args=(client,), daemon=True).start()\n",
    ),
    Mutant(
        CHAPTER,
        "upload_written_in_place",
        "writes an upload straight into the file, so a reader can find it half written",
        "files.py",
        TEMPORARY_FILE,
        '    with open(path, "wb") as file:  # in place: no temporary file, no rename\n'
        "        file.write(data)\n"
        "    return\n" + TEMPORARY_FILE,
    ),
    Mutant(
        CHAPTER,
        "one_temporary_name_per_file",
        "names the temporary file after the target (`data.bin.part`), so uploads at once share it",
        "files.py",
        TEMPORARY_FILE,
        '    temporary = str(path) + ".part"  # the same name for every upload of this file\n'
        "    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\n",
    ),
    # -- 9.2 A poller for waiting connections ----------------------------------------------------
    Mutant(
        CHAPTER,
        "workers_wait_for_the_next_request",
        "keeps a worker on a kept-alive connection while it waits for its next request",
        "pool.py",
        BACK_TO_THE_POLLER,
        "            if False:  # the worker stays, waiting for the next head\n                break\n",
    ),
    Mutant(
        CHAPTER,
        "workers_read_the_heads",
        "hands every new connection to a worker, which then waits for (and reads) its head",
        "pool.py",
        "            self.watch(client, self.settings.keep_alive_timeout)\n",
        "            self.ready.put(client)  # the worker reads the head itself\n",
    ),
    Mutant(
        CHAPTER,
        "poller_keeps_watching",
        "puts a client in the queue without unregistering it, so the poller keeps reading its socket",
        "pool.py",
        TO_THE_WORKERS,
        "            self.ready.put(client)\n",
    ),
    Mutant(
        CHAPTER,
        "pipelined_request_left_waiting",
        "hands a connection back to the poller even with a whole pipelined request in its buffer",
        "pool.py",
        BACK_TO_THE_POLLER,
        "            break  # the poller waits for new bytes, not for the ones already here\n",
    ),
    # -- 9.3 408 for heads that take too long ----------------------------------------------------
    Mutant(
        CHAPTER,
        "no_header_clock",
        "never starts the header clock, so a started head has as long as an idle connection",
        "pool.py",
        HEADER_CLOCK,
        "        pass  # the deadline set when the connection came in still holds\n",
    ),
    Mutant(
        CHAPTER,
        "clock_restarted_by_every_byte",
        "restarts the header clock on every piece of the head: a byte every 0.1 s never times out (slowloris)",
        "pool.py",
        HEADER_CLOCK,
        HEADER_CLOCK.replace("if not client.buffer:", "if True:"),
    ),
    Mutant(
        CHAPTER,
        "clock_counts_from_the_first_request",
        "starts the header clock once per connection, so a later head after some idle time is cut off",
        "pool.py",
        HEADER_CLOCK,
        """        if not hasattr(client, "opened"):
            client.opened = time.monotonic()  # set once, never again for the next requests
        client.deadline = client.opened + self.settings.header_timeout
""",
    ),
    Mutant(
        CHAPTER,
        "timeout_without_408",
        "closes a connection whose head is late without answering 408",
        "pool.py",
        SEND_408,
        "                client.connection.close()  # cut off without a word\n",
    ),
    Mutant(
        CHAPTER,
        "408_but_kept_open",
        "answers 408 but keeps the connection open, waiting for a next request",
        "pool.py",
        SEND_408,
        SEND_408.replace("self.send_and_close(client, ", "send_response(client.connection, ").replace("))\n", "), None)\n")
        + "                client.buffer = b\"\"\n"
        + "                self.watch(client, self.settings.keep_alive_timeout)\n",
    ),
    # -- 9.4 Shut down gracefully ----------------------------------------------------------------
    Mutant(
        CHAPTER,
        "no_grace",
        "exits at once on SIGTERM, cutting off the requests in flight",
        "pool.py",
        "        deadline = time.monotonic() + self.settings.grace\n",
        "        deadline = time.monotonic()  # no grace\n",
    ),
    Mutant(
        CHAPTER,
        "grace_ignored",
        "waits for every worker to finish, however long, ignoring --grace",
        "pool.py",
        "            worker.join(max(0.0, deadline - time.monotonic()))\n",
        "            worker.join()\n",
    ),
    Mutant(
        CHAPTER,
        "exit_status_1",
        "exits with status 1 after SIGTERM",
        "__main__.py",
        "    return 0\n",
        "    return 1\n",
    ),
    Mutant(
        CHAPTER,
        "keeps_accepting_during_the_grace",
        "keeps accepting and serving new connections while the requests in flight finish",
        "pool.py",
        STOP_ACCEPTING,
        """        self.stopping.set()
        end = time.monotonic() + min(self.settings.grace, 1.0)
        while time.monotonic() < end:  # the poller goes on, listener included
            for key, _events in self.selector.select(timeout=TICK):
                if key.fileobj is self.listener:
                    self.accept_all()
                elif key.fileobj is self.wake_receiver:
                    self.take_back()
                else:
                    self.receive_head(key.data)
        self.listener.close()
""",
    ),
]
