"""`walkway sensors serial-read` against a socket:// device (a serial-to-Ethernet converter)."""

import socket
import threading

from simulator.serial_devices import wxt530_message
from walkway.cli import main


def test_serial_read_prints_decoded_values_and_counters(capsys):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    done = threading.Event()

    def device():
        conn, _ = server.accept()
        with conn:
            # pyserial flushes input on open: keep sending, as a real transmitter does
            while not done.wait(0.05):
                try:
                    conn.sendall(b"\x00\xff" + wxt530_message({"Ta": -2.5, "Ua": 91.0}))
                except OSError:
                    return

    t = threading.Thread(target=device, daemon=True)
    t.start()
    try:
        rc = main(["sensors", "serial-read", "wxt530", f"socket://127.0.0.1:{port}",
                   "--seconds", "0.6"])
    finally:
        done.set()
        t.join(30)
        server.close()
    out = capsys.readouterr().out
    assert rc == 0
    assert "temperature_c=-2.5 humidity_pct=91" in out
    assert "garbage_bytes=" in out and "frames=" in out
