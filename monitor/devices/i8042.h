// The super-I/O's 8042 keyboard controller (ISA 0x60 data, 0x64 status/command) with nothing
// plugged into its keyboard and mouse ports. The controller answers its own commands (self-test
// 0x55, interface tests, the command byte, AUX loopback) so Linux's i8042 driver finds it, and a
// byte sent to a port with no device times out (status bit 6 with 0xff, as an AT controller
// does), so the keyboard and mouse drivers give up at once. Source: IBM PS/2 Hardware Technical
// Reference, "Keyboard/Auxiliary Device Controller".
//
// Call sequence: read/write(port, value); irq1()/irq12() are the output-buffer-full interrupts.
#pragma once

#include <cstdint>

#include "monitor/devices/guest_errors.h"

namespace disco::malta {

class I8042 {
 public:
  bool claims(uint16_t port) const { return port == 0x60 || port == 0x64; }
  uint8_t read(uint16_t port);
  void write(uint16_t port, uint8_t value);
  bool irq1() const { return output_full_ && !output_from_aux_ && (command_byte_ & 0x01); }
  bool irq12() const { return output_full_ && output_from_aux_ && (command_byte_ & 0x02); }
  uint64_t guest_errors() const { return errors_.count(); }

 private:
  void respond(uint8_t byte, bool from_aux, bool timeout = false);
  void controller_command(uint8_t command);

  uint8_t command_byte_ = 0x45;  // keyboard interrupt on, system flag, scancode translation
  uint8_t output_ = 0;
  uint8_t pending_command_ = 0;  // a command waiting for its data byte on port 0x60, or 0
  bool output_full_ = false, output_from_aux_ = false, timeout_ = false, last_write_was_command_ = false;
  GuestErrors errors_{"i8042"};
};

}  // namespace disco::malta
