#include "monitor/devices/i8042.h"

namespace disco::malta {

namespace {
constexpr uint8_t kStatusOutputFull = 0x01, kStatusSystem = 0x04, kStatusCommand = 0x08,
                  kStatusUnlocked = 0x10, kStatusAuxData = 0x20, kStatusTimeout = 0x40;
constexpr uint8_t kNoDevice = 0xff;
}  // namespace

void I8042::respond(uint8_t byte, bool from_aux, bool timeout) {
  output_ = byte;
  output_full_ = true;
  output_from_aux_ = from_aux;
  timeout_ = timeout;
}

void I8042::controller_command(uint8_t command) {
  switch (command) {
    case 0x20: respond(command_byte_, false); break;           // read command byte
    case 0x60: case 0xd2: case 0xd3: case 0xd4:               // these take a data byte
      pending_command_ = command;
      break;
    case 0xa7: command_byte_ |= 0x20; break;                  // disable AUX
    case 0xa8: command_byte_ &= ~0x20; break;                 // enable AUX
    case 0xa9: case 0xab: respond(0x00, false); break;        // AUX / keyboard interface test: OK
    case 0xaa: respond(0x55, false); break;                   // controller self-test passed
    case 0xad: command_byte_ |= 0x10; break;                  // disable keyboard
    case 0xae: command_byte_ &= ~0x10; break;                 // enable keyboard
    case 0xfe: case 0xff: break;                              // pulse output lines: no reset wired
    default: errors_.report(command, "unknown controller command"); break;
  }
}

uint8_t I8042::read(uint16_t port) {
  if (port == 0x64) {
    return uint8_t((output_full_ ? kStatusOutputFull : 0) | kStatusSystem | kStatusUnlocked |
                   (last_write_was_command_ ? kStatusCommand : 0) |
                   (output_full_ && output_from_aux_ ? kStatusAuxData : 0) | (timeout_ ? kStatusTimeout : 0));
  }
  output_full_ = false;
  timeout_ = false;
  return output_;
}

void I8042::write(uint16_t port, uint8_t value) {
  last_write_was_command_ = port == 0x64;
  if (port == 0x64) {
    pending_command_ = 0;
    controller_command(value);
    return;
  }
  const uint8_t command = pending_command_;
  pending_command_ = 0;
  switch (command) {
    case 0x60: command_byte_ = value; break;
    case 0xd2: respond(value, false); break;               // as if the keyboard sent it
    case 0xd3: respond(value, true); break;                // AUX loopback
    case 0xd4: respond(kNoDevice, true, true); break;      // to the mouse: none attached
    default: respond(kNoDevice, false, true); break;       // to the keyboard: none attached
  }
}

}  // namespace disco::malta
