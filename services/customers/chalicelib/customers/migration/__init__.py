"""Re-keying a store from the first layout (one partition per store) to today's."""
