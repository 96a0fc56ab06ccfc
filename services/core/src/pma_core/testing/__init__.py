"""Test harness for the Planner & Memory services: real servers, loopback fakes of third parties."""
