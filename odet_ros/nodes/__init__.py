"""rclpy nodes: ROS wiring only (parameters, QoS, publishers, subscriptions, services, timers).

What a node does beyond wiring lives in the ROS-free core and is tested without ROS.
"""
